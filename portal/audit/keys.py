"""The audit trail's keys, never in the database: HMAC keys that link events, the Ed25519 key that signs checkpoints."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app

MIN_KEY_LENGTH = 32
_MAKE_ONE = "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class AuditKeys:
    key_id: str  # the id new events are linked under
    hmac_keys: dict[str, bytes]  # every configured key by id, the current one included
    signing_key: Ed25519PrivateKey
    verify_keys: dict[str, Ed25519PublicKey]  # by signer id: the current key's and retired ones'

    @property
    def signer(self) -> str:
        return _signer_id(self.signing_key.public_key())

    def public_key(self, signer: str) -> str | None:
        """The public key (hex) that verifies what `signer` signed, if it is one of the portal's."""
        key = self.verify_keys.get(signer)
        return _raw(key).hex() if key else None

    def sign(self, message: bytes) -> str:
        return self.signing_key.sign(message).hex()

    def verify(self, signer: str, message: bytes, signature: str) -> bool:
        key = self.verify_keys.get(signer)
        if key is None:
            return False
        try:
            key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _signer_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint naming the key a checkpoint was signed with."""
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def _secret(app: Flask, name: str) -> str:
    """A setting, or the contents of the file its NAME_FILE setting names (the file wins)."""
    path = app.config.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise RuntimeError(f"{name}_FILE {path} cannot be read: {err.strerror}") from None
    return (app.config.get(name) or "").strip()


def _hmac_keys(app: Flask) -> tuple[str, dict[str, bytes]]:
    key = _secret(app, "AUDIT_KEY")
    if not key:
        raise RuntimeError("AUDIT_KEY (or AUDIT_KEY_FILE) must be set outside development and tests: it links the "
                           f"audit events and must not be stored in the database; {_MAKE_ONE}")
    # Older keys, so events linked before a rotation still verify: a dict, or JSON from the environment or a file.
    older = app.config.get("AUDIT_KEYS") or {}
    if isinstance(older, str) or app.config.get("AUDIT_KEYS_FILE"):
        try:
            older = json.loads(_secret(app, "AUDIT_KEYS") or "{}")
        except ValueError:
            older = None
    if not isinstance(older, dict) or not all(isinstance(v, str) for v in older.values()):
        raise RuntimeError('AUDIT_KEYS must be a JSON object of older audit keys by id, e.g. {"1": "..."}')
    key_id = str(app.config.get("AUDIT_KEY_ID") or "1")
    keys = {str(k): v.encode() for k, v in older.items()}
    if keys.get(key_id, key.encode()) != key.encode():
        raise RuntimeError(f"AUDIT_KEYS holds another key under the current AUDIT_KEY_ID {key_id!r}: give the new "
                           "key a new id")
    keys[key_id] = key.encode()
    short = [k for k, v in keys.items() if len(v) < MIN_KEY_LENGTH]
    if short:
        raise RuntimeError(f"audit key {short[0]!r} is shorter than {MIN_KEY_LENGTH} characters; {_MAKE_ONE}")
    return key_id, keys


def _signing_key(app: Flask) -> Ed25519PrivateKey:
    text = _secret(app, "AUDIT_SIGNING_KEY")
    if not text:
        raise RuntimeError("AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) must be set outside development and tests: "
                           f"the Ed25519 key that signs audit checkpoints (64 hex digits or a PEM); {_MAKE_ONE}")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
    except (ValueError, TypeError, UnsupportedAlgorithm):  # not hex, not PEM, encrypted, or another algorithm
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError("AUDIT_SIGNING_KEY is not an Ed25519 private key (64 hex digits or an unencrypted PEM)")
    return key


def _retired_public_keys(app: Flask) -> list[Ed25519PublicKey]:
    keys = []
    for text in (app.config.get("AUDIT_SIGNING_OLD_PUBLIC_KEYS") or "").replace(",", " ").split():
        try:
            keys.append(Ed25519PublicKey.from_public_bytes(bytes.fromhex(text)))
        except ValueError:
            raise RuntimeError(f"AUDIT_SIGNING_OLD_PUBLIC_KEYS: {text!r} is not an Ed25519 public key "
                               "(64 hex digits)") from None
    return keys


def init_app(app: Flask) -> None:
    """Load the keys at start-up, so a portal without them refuses to start rather than write an unkeyed chain."""
    key_id, hmac_keys = _hmac_keys(app)
    signing_key = _signing_key(app)
    public_keys = [signing_key.public_key(), *_retired_public_keys(app)]
    app.extensions["audit_keys"] = AuditKeys(key_id, hmac_keys, signing_key,
                                             {_signer_id(k): k for k in public_keys})


def audit_keys() -> AuditKeys:
    return current_app.extensions["audit_keys"]
