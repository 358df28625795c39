"""Publishing the RID: the baseline's PDF is stored, with its SHA-256, in the transaction that baselines it."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from ..audit.services import record_event
from ..extensions import db
from ..releases.models import Release, RidVersion
from .models import RidDocument
from .render import render_pdf, version_document


def stored_document(version: RidVersion) -> RidDocument | None:
    return db.session.scalar(sa.select(RidDocument).where(RidDocument.rid_version_id == version.id))


def store_version_pdf(actor, release: Release, version: RidVersion) -> RidDocument:
    """Render this version's PDF once and keep its bytes: the document the Panel baselined, byte for byte.
    Called inside the baseline's transaction, so the document and the baseline commit (or fail) together."""
    db.session.flush()
    db.session.expire(release, ["rid_versions"])
    content = render_pdf(version_document(release, version))
    document = RidDocument(rid_version_id=version.id, kind="pdf", content=content,
                           sha256=hashlib.sha256(content).hexdigest())
    db.session.add(document)
    db.session.flush()
    record_event(actor, "rid.document_stored",
                 f"Stored the baselined RID version {version.number} as a PDF of {len(content):,} bytes, "
                 f"SHA-256 {document.sha256}",
                 obj=document, release=release,
                 after={"version": version.number, "kind": "pdf", "sha256": document.sha256, "size": len(content)})
    return document
