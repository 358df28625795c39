"""Roles and the access decorators every route declares (`roles_required` or `public`)."""
from __future__ import annotations

import enum
from functools import wraps
from typing import Callable

from flask_login import current_user

from .extensions import login_manager


class Role(enum.StrEnum):
    DCC = "dcc"
    SECAS = "secas"
    OPSG = "opsg"
    PANEL = "panel"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.DCC: "DCC", Role.SECAS: "SECAS", Role.OPSG: "OpsG", Role.PANEL: "SEC Panel"}
ALL_ROLES = frozenset(Role)


class PortalError(Exception):
    """A refusal with a message a user can act on; mapped to a status by one error handler."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PermissionDenied(PortalError):
    status = 403


class NotFound(PortalError):
    status = 404


class Conflict(PortalError):
    """The action does not fit the object's current state, or someone else got there first."""

    status = 409


class Invalid(PortalError):
    """Input the rules refuse; `field` names the form field it is about, when there is one."""

    status = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def roles_required(*roles: Role, admin: bool = False) -> Callable:
    """Allow a logged-in, active user whose role is one of `roles` (and an admin, if asked)."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed or (admin and not current_user.is_admin):
                raise PermissionDenied("Your role does not give you access to this page.")
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed
        wrapped.admin_only = admin
        return wrapped

    return decorator


def public(view):
    """Mark a view as open to everyone, logged in or not."""
    view.allowed_roles = None
    view.is_public = True
    return view
