"""Uploaded files kept outside the web root, under random names (audit documents, complaints).

Each domain names its own folder and size limit by setting names, e.g. complaints::

    stored = store_upload(
        session, upload.stream, upload.filename,
        folder_setting="COMPLAINT_FILES_DIR", default_folder="complaint-files",
        max_bytes_setting="COMPLAINT_UPLOAD_MAX_BYTES",
    )  # -> StoredFile(original_name, content_type, size_bytes, sha256, storage_name, path)
    # raises UploadRefused (a ValueError whose text is for the uploader) for a refused file

and serves a row that has ``original_name``, ``content_type`` and ``storage_name`` with
``stored_file_response(row, folder_setting=..., default_folder=...)`` (None if the file is
missing). An empty folder setting means the instance folder's ``default_folder``.

Only a few kinds of file are accepted, each recognised by its extension *and* its first bytes
(a ``.pdf`` must start like a PDF). A file is written to a temporary name and renamed, so a
half-written file never carries a stored name; a file whose database row is not committed is
removed when the session's transaction ends (see ``_discard_uncommitted``; ``discard`` removes
one sooner), and only a row makes a file reachable: nothing is ever served by its name alone.

A process that dies at the wrong moment still leaves files behind: a temporary ``.upload-``
file, a stored file whose transaction never ended cleanly, or the file of a purged row that
could not be removed. Each domain registers its folder with the column whose rows keep its
files (``register_folder``), and the daily job ``sweep-upload-files`` (``sweep_orphan_files``)
removes every such file that no row keeps, once it is older than ``SWEEP_AFTER``.
"""

import hashlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

from flask import Flask, Response, current_app, send_file
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import event, select
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction

from registry.formatting import format_number
from registry.i18n import _l

MAX_NAME_LENGTH = 200
PENDING_FILES = "uploads_pending"
TEMPORARY_PREFIX = ".upload-"
# The sweep leaves younger files alone: the transaction that wrote one may still be open.
SWEEP_AFTER = timedelta(days=1)
LOOKUP_CHUNK = 500

PDF = b"%PDF-"
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class Kind:
    content_type: str
    magic: bytes = b""  # the first bytes of every such file
    is_text: bool = False  # UTF-8 text without NUL bytes
    # For ZIP-based office files: a member every such file has ...
    member: str | None = None
    # ... or, for OpenDocument, the content of its "mimetype" member.
    odf_mimetype: str | None = None


ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
KINDS = {
    "pdf": Kind("application/pdf", PDF),
    "png": Kind("image/png", PNG),
    "jpg": Kind("image/jpeg", JPEG),
    "jpeg": Kind("image/jpeg", JPEG),
    "docx": Kind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ZIP,
        member="word/document.xml",
    ),
    "xlsx": Kind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ZIP,
        member="xl/workbook.xml",
    ),
    "odt": Kind(ODT, ZIP, odf_mimetype=ODT),
    "ods": Kind(ODS, ZIP, odf_mimetype=ODS),
    "txt": Kind("text/plain; charset=utf-8", is_text=True),
    "csv": Kind("text/csv; charset=utf-8", is_text=True),
}
# For a file input's ``accept`` attribute and for people.
ACCEPTED = ", ".join(sorted({f".{ext}" for ext in KINDS}))
KIND_NAMES = _l(
    "PDF, PNG, JPEG, Word (.docx), Excel (.xlsx), OpenDocument (.odt, .ods), text or CSV"
)

# An office file is a ZIP archive, and a few MB of ZIP can expand to gigabytes in whatever
# opens it (a "zip bomb"): refuse archives that would expand beyond these, by what their
# directory says and by what their members really hold.
MAX_EXPANDED_BYTES = 100 * 1024 * 1024
MAX_EXPANSION_RATIO = 100  # expanded size over the file's size; office files are far below
MAX_ARCHIVE_MEMBERS = 10_000
_CHUNK = 1024 * 1024

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_SPACES = re.compile(r"\s+")
_STORAGE_NAME = re.compile(r"[0-9a-f]{64}")


class UploadRefused(ValueError):
    """A file that cannot be accepted, with the reason for the uploader."""


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_name: str
    path: Path


class StoredRow(Protocol):
    """A database row describing a stored file (AuditDocument, ComplaintAttachment, ...)."""

    original_name: str
    content_type: str
    storage_name: str


def files_dir(folder_setting: str, default_folder: str) -> Path:
    """Return the folder ``folder_setting`` names (created, private); refuse one the web serves.

    An empty setting means ``default_folder`` in the instance folder.
    """
    configured = current_app.config[folder_setting]
    folder = Path(configured or Path(current_app.instance_path) / default_folder).resolve()
    static = current_app.static_folder
    if static and folder.is_relative_to(Path(static).resolve()):
        raise RuntimeError(f"{folder_setting} ({folder}) must not be inside the static folder.")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def clean_name(name: str | None) -> str:
    """Return a readable, harmless version of an uploaded file's name ("" if nothing is left).

    Folders, control characters and characters that file systems or headers trip over are
    dropped; letters of any script stay. Long names are cut, keeping the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _SPACES.sub(" ", _UNSAFE.sub(" ", name)).strip(" .")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) < 10:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH].rstrip(" .")
    return name


def human_size(size: int) -> str:
    """Return ``size`` in bytes as people read it: "812 bytes", "35 KB", "10 MB", "2.5 MB"."""
    if size < 1024:
        return ngettext("%(count)s byte", "%(count)s bytes", size, count=format_number(size))
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_number(round(size / 1024)))
    return _("%(size)s MB", size=format_number(round(size / (1024 * 1024), 1)))


def read_upload(stream: IO[bytes], name: str | None, *, max_bytes: int) -> tuple[str, Kind, bytes]:
    """Return the cleaned name, the kind and the bytes of an upload, or raise UploadRefused."""
    original = clean_name(name)
    if not original:
        raise UploadRefused(_("The file has no usable name; rename it and upload it again."))
    extension = original.rpartition(".")[2].lower() if "." in original else ""
    kind = KINDS.get(extension)
    if kind is None:
        raise UploadRefused(
            _(
                "“%(name)s” is not a kind of file accepted here. Upload %(kinds)s files.",
                name=original,
                kinds=KIND_NAMES,
            )
        )
    data = stream.read(max_bytes + 1)
    if not data:
        raise UploadRefused(_("“%(name)s” is empty.", name=original))
    if len(data) > max_bytes:
        raise UploadRefused(
            _(
                "“%(name)s” is larger than %(limit)s, the limit.",
                name=original,
                limit=human_size(max_bytes),
            )
        )
    if kind.magic == ZIP:
        _check_expansion(original, data)
    if not _content_matches(kind, data):
        raise UploadRefused(
            _(
                "The content of “%(name)s” does not match its type (%(type)s):"
                " upload the document itself, not a renamed file.",
                name=original,
                type=extension.upper(),
            )
        )
    return original, kind, data


def _check_expansion(original: str, data: bytes) -> None:
    """Refuse a ZIP archive that expands too far or whose members are damaged.

    An archive that cannot be opened at all is left to the content check.
    """
    limit = min(MAX_EXPANDED_BYTES, MAX_EXPANSION_RATIO * len(data))
    too_large = UploadRefused(
        _(
            "“%(name)s” would expand to more than %(limit)s when opened, which no"
            " document of this size does. Save it again from its program and upload that file.",
            name=original,
            limit=human_size(limit),
        )
    )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, NotImplementedError):
        return
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            raise too_large
        if sum(member.file_size for member in members) > limit:
            raise too_large
        # The sizes above are what the archive says; count what its members really hold (a
        # member longer than it says fails its checksum).
        expanded = 0
        try:
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        expanded += len(chunk)
                        if expanded > limit:
                            raise too_large
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError):
            raise UploadRefused(
                _(
                    "“%(name)s” is damaged: its contents do not match its own index."
                    " Save it again from its program and upload that file.",
                    name=original,
                )
            ) from None


def _content_matches(kind: Kind, data: bytes) -> bool:
    if kind.is_text:
        if b"\x00" in data:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    if not data.startswith(kind.magic):
        return False
    return kind.magic != ZIP or _office_file(kind, data)


def _office_file(kind: Kind, data: bytes) -> bool:
    """Return whether a ZIP file holds what a file of ``kind`` always holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if kind.member is not None:
                return kind.member in names
            if "mimetype" not in names:
                return False
            with archive.open("mimetype") as member:
                return member.read(100).strip() == (kind.odf_mimetype or "").encode()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, NotImplementedError):
        return False


def store_upload(
    session: Session,
    stream: IO[bytes],
    name: str | None,
    *,
    folder_setting: str,
    default_folder: str,
    max_bytes_setting: str,
) -> StoredFile:
    """Check an upload and write it under a random name; raise UploadRefused if it is refused.

    The file stays only if ``session``'s transaction commits; ``discard`` removes it sooner.
    """
    max_bytes = current_app.config[max_bytes_setting]
    original, kind, data = read_upload(stream, name, max_bytes=max_bytes)
    folder = files_dir(folder_setting, default_folder)
    storage_name = secrets.token_hex(32)
    path = folder / storage_name
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    session.info.setdefault(PENDING_FILES, []).append(path)
    return StoredFile(
        original_name=original,
        content_type=kind.content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_name=storage_name,
        path=path,
    )


def discard(session: Session, stored: StoredFile) -> None:
    """Remove a stored file whose row will not be written."""
    pending = session.info.get(PENDING_FILES, [])
    if stored.path in pending:
        pending.remove(stored.path)
    stored.path.unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    session.info.pop(PENDING_FILES, None)


@event.listens_for(Session, "after_transaction_end")
def _discard_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    """Remove the files written in a transaction that ended without a commit."""
    if transaction.parent is None:
        for path in session.info.pop(PENDING_FILES, []):
            path.unlink(missing_ok=True)


def stored_file_response(
    row: StoredRow, *, folder_setting: str, default_folder: str
) -> Response | None:
    """Return the row's file as a download (never shown inline), or None if it is missing."""
    if not _STORAGE_NAME.fullmatch(row.storage_name):
        return None
    path = files_dir(folder_setting, default_folder) / row.storage_name
    if not path.is_file():
        current_app.logger.error(
            "%s %s has no file %s", type(row).__name__, getattr(row, "id", "?"), path
        )
        return None
    response = send_file(
        path,
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.original_name,
        conditional=False,
        etag=False,
        max_age=None,
    )
    # The stored type is complete ("text/plain; charset=utf-8"): werkzeug would add a
    # second charset to a text type.
    response.headers["Content-Type"] = row.content_type
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@dataclass(frozen=True)
class UploadFolder:
    """A folder of stored files and the column whose rows keep them."""

    folder_setting: str
    default_folder: str
    column: InstrumentedAttribute[str]


def init_app(app: Flask) -> None:
    app.extensions["upload_folders"] = []
    app.extensions["jobs"].add_daily(
        "sweep-upload-files",
        sweep_orphan_files,
        "Remove uploaded files that no row keeps (left by a failed upload or purge), a day on",
    )


def register_folder(
    app: Flask, column: InstrumentedAttribute[str], *, folder_setting: str, default_folder: str
) -> None:
    """Have the daily sweep keep in ``folder_setting``'s folder only the files ``column`` names."""
    app.extensions["upload_folders"].append(UploadFolder(folder_setting, default_folder, column))


def sweep_orphan_files(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Remove the stored and temporary files no row keeps, once older than SWEEP_AFTER."""
    removed = 0
    for upload_folder in current_app.extensions["upload_folders"]:
        folder = files_dir(upload_folder.folder_setting, upload_folder.default_folder)
        candidates = _old_files(folder, (now - SWEEP_AFTER).timestamp())
        kept = _kept(session, upload_folder.column, [n for n in candidates if _is_stored(n)])
        for name, path in candidates.items():
            if name not in kept:
                path.unlink(missing_ok=True)
                removed += 1
                current_app.logger.warning("removed %s: no row keeps it", path)
    return {"files_removed": removed}


def _is_stored(name: str) -> bool:
    return _STORAGE_NAME.fullmatch(name) is not None


def _old_files(folder: Path, before: float) -> dict[str, Path]:
    """Return the stored and temporary files in ``folder`` last changed before ``before``."""
    found = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            ours = entry.name.startswith(TEMPORARY_PREFIX) or _is_stored(entry.name)
            if ours and entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                found[entry.name] = Path(entry.path)
    return found


def _kept(session: Session, column: InstrumentedAttribute[str], names: list[str]) -> set[str]:
    """Return which of ``names`` a row of ``column`` holds, asking in chunks."""
    kept: set[str] = set()
    for start in range(0, len(names), LOOKUP_CHUNK):
        chunk = names[start : start + LOOKUP_CHUNK]
        kept.update(session.scalars(select(column).where(column.in_(chunk))))
    return kept
