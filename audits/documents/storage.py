"""Where audit documents' bytes live: ``registry.uploads`` with the audits' folder and limit.

The folder is AUDIT_FILES_DIR (empty: the instance folder's ``audit-files``), the largest file
AUDIT_UPLOAD_MAX_BYTES. What is accepted, how files are written and when an uncommitted one is
removed is told in ``registry.uploads``.
"""

from pathlib import Path
from typing import IO

from flask import Response, current_app
from sqlalchemy.orm import Session

from audits.models import AuditDocument
from registry import uploads
from registry.uploads import (
    ACCEPTED,
    KIND_NAMES,
    KINDS,
    Kind,
    StoredFile,
    UploadRefused,
    clean_name,
    discard,
    human_size,
)

__all__ = [
    "ACCEPTED",
    "KINDS",
    "KIND_NAMES",
    "Kind",
    "StoredFile",
    "UploadRefused",
    "clean_name",
    "discard",
    "document_response",
    "files_dir",
    "human_size",
    "read_upload",
    "store_upload",
]

FOLDER = {"folder_setting": "AUDIT_FILES_DIR", "default_folder": "audit-files"}
MAX_BYTES_SETTING = "AUDIT_UPLOAD_MAX_BYTES"


def files_dir() -> Path:
    """Return the folder of audit documents (created, private), refusing one the web serves."""
    return uploads.files_dir(**FOLDER)


def read_upload(stream: IO[bytes], name: str | None) -> tuple[str, Kind, bytes]:
    """Return the cleaned name, the kind and the bytes of an upload, or raise UploadRefused."""
    return uploads.read_upload(stream, name, max_bytes=current_app.config[MAX_BYTES_SETTING])


def store_upload(session: Session, stream: IO[bytes], name: str | None) -> StoredFile:
    """Check an audit document and write it under a random name (see ``registry.uploads``)."""
    return uploads.store_upload(
        session, stream, name, max_bytes_setting=MAX_BYTES_SETTING, **FOLDER
    )


def document_response(document: AuditDocument) -> Response | None:
    """Return the document as a download, or None if its file is missing."""
    return uploads.stored_file_response(document, **FOLDER)
