"""Mediators as CSV: the import and export of the public contract (product brief).

Import is all or nothing. ``import_mediators`` reads and checks the whole file first and
reports every problem with its physical line (the header is line 1). Memory stays flat however
long the file: each row's values are checked as it is read, and the row goes, parsed, into a
temporary staging table; what rows may not repeat (e-mails of another profile, numbers, public
ids), the people the rows form and what the database holds already are then checked in SQL
over it. Only a clean file is written, IMPORT_BATCH people at a time (COPY on PostgreSQL); each
new certification's ``recorded_status`` is set from the computed status, so the daily job does
not log imported statuses as transitions.

The eight columns of the product brief are required; the migration columns (``MIGRATION``)
are optional and carry what a verifier's answer depends on, so that a register exported with
``for_import`` imports into an empty one and answers every verifier the same: the public id,
the certification type, each settled listing period with the day it was settled (the status
and the day it began follow from them), the covering certification of a second type, the
conduct outcomes with their public reasons, and the day the profile was made (an applicant's
status_since). A person with several certifications (both types, or a new grant after
striking) has one row for each, with the same e-mail and the same profile columns.

Specialisations are credentials the registry grants: the column is imported only when the
caller says the source registry granted them (``specialisations_are_granted``), as grants whose
basis is the import; otherwise a row that has any is refused. Export writes the grants live on
the day of the export, each with its dates for import (``code@granted_on/valid_until``).

Export streams: mediators are read in keyset-paginated batches of ``EXPORT_BATCH`` ids, with
the languages, specialisations and status of that batch only, so memory stays constant. Cells
that a spreadsheet would run as a formula are written as text (``registry.csvfiles``), and the
import reads them back as they were.
"""

import csv
import pickle
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache, lru_cache, partial
from itertools import pairwise
from typing import IO, Any, cast

from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import values as sql_values
from sqlalchemy.orm import Session

from registry import csvfiles
from registry.accounts.models import User
from registry.accounts.services import normalise_email
from registry.clock import local_date, registry_zone
from registry.contributions.models import FeeRate, Invoice, Tier
from registry.credentials.status import update_status_bits
from registry.events.services import record_event
from registry.mediators.models import (
    Certification,
    CertificationType,
    Mediator,
    MediatorLanguage,
    Specialisation,
    SpecialisationGrant,
    Status,
    new_public_id,
)
from registry.mediators.names import search_form
from registry.mediators.status import certification_standing, grace_days, since, status_rows
from registry.reference import country_code, language_code
from registry.search.services import refresh_listings

COLUMNS = (
    "name",
    "email",
    "country",
    "languages",
    "specialisations",
    "certificate_number",
    "certified_on",
    "paid_until",
)
# Optional: what a faithful migration needs besides COLUMNS (see the module docstring).
MIGRATION = (
    "public_id",
    "certification_type",
    "created_on",
    "listing_periods",
    "covered_by",
    "suspended_on",
    "suspension_lifted_on",
    "suspension_reason",
    "revoked_on",
    "revocation_reason",
)
IMPORT_COLUMNS = (*COLUMNS, *MIGRATION)
EXPORT_COLUMNS = (*COLUMNS, "public_id", "status", "status_since")
# The columns every row of one person repeats (one row per certification).
PROFILE_COLUMNS = ("name", "country", "languages", "specialisations", "public_id", "created_on")
MAX_NAME_LENGTH = 200
MAX_NUMBER_LENGTH = 32
MAX_REASON_LENGTH = 2000
# Rows per insert into the staging table, people written at a time, values per IN (...)
# lookup, mediators per export batch.
STAGE_BATCH = 5_000
IMPORT_BATCH = 5_000
LOOKUP_CHUNK = 500
EXPORT_BATCH = 2_000
# Rows of one UPDATE ... FROM VALUES: three parameters each, under PostgreSQL's 65,535.
VALUES_CHUNK = 5_000
# Applicants last: "Imported 120 mediators: 80 certified, 40 applicants."
SUMMARY_ORDER = (*(status for status in Status if status is not Status.APPLICANT), Status.APPLICANT)
# A local part validate_email accepts as it is (its dot-atom), and the longest address it takes.
_SIMPLE_LOCAL = re.compile(r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-z0-9_!#$%&'*+\-/=?^`{|}~]+)*")
MAX_SIMPLE_EMAIL = 254
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A public id as stored: upper-case letters and digits (the registry's own are "M" + 10).
_PUBLIC_ID = re.compile(r"[A-Z0-9]{6,16}")
# One settled listing period: "2025-01-15/2026-01-14@2025-01-10" (start/end@settled on).
_PERIOD = re.compile(r"([^/@]+)/([^/@]+)@([^/@]+)")
# One granted specialisation: "intercultural", "intercultural@2025-03-01" or with "/valid_until".
_GRANT = re.compile(r"([^@]+?)\s*(?:@\s*([^/]+?)\s*(?:/\s*(.+?))?)?")


class ImportFailed(ValueError):
    """The file has problems; nothing was imported. ``errors`` are (line, message) pairs."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = sorted(errors, key=lambda error: error[0])
        super().__init__(f"{len(self.errors)} problem(s); nothing was imported.")


@dataclass(frozen=True)
class ImportSummary:
    """How many mediators an import created, by their status as of the import day."""

    statuses: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def __str__(self) -> str:
        noun = "mediator" if self.total == 1 else "mediators"
        parts = [
            f"{count} {_status_noun(status, count)}"
            for status in SUMMARY_ORDER
            if (count := self.statuses.get(status.value, 0))
        ]
        return f"Imported {self.total} {noun}" + (f": {', '.join(parts)}." if parts else ".")


def _status_noun(status: Status, count: int) -> str:
    plural = status is Status.APPLICANT and count != 1
    return status.value + ("s" if plural else "")


@dataclass(frozen=True)
class _Grant:
    """A specialisation to grant: its code and, from a migration, its own dates."""

    code: str
    granted_on: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class _Period:
    """A settled listing period: covered from ``start`` to ``end``, settled on ``settled_on``."""

    start: date
    end: date
    settled_on: date


@dataclass(frozen=True)
class _Row:
    """One checked line of the file, ready to be written."""

    line: int
    name: str
    email: str
    country: str
    languages: list[str]
    specialisations: list[_Grant]
    certificate_number: str | None
    certified_on: date | None
    paid_until: date | None
    public_id: str | None = None
    certification_type: CertificationType = CertificationType.MEDIATOR
    created_on: date | None = None
    listing_periods: list[_Period] = field(default_factory=list)
    covered_by: str | None = None
    suspended_on: date | None = None
    suspension_lifted_on: date | None = None
    suspension_reason: str | None = None
    revoked_on: date | None = None
    revocation_reason: str | None = None

    def periods(self) -> list[_Period]:
        """Return the settled periods: as given, or the paid period of the short format."""
        if self.listing_periods:
            return self.listing_periods
        if self.paid_until and self.certified_on:
            # Paid before the registry kept the books: settled from the grant.
            return [_Period(self.certified_on, self.paid_until, self.certified_on)]
        return []


@dataclass
class _Person:
    """The rows of one e-mail address: one profile, each row one of its certifications."""

    rows: list[_Row]

    @property
    def profile(self) -> _Row:
        return self.rows[0]

    @property
    def granted(self) -> list[_Row]:
        return [row for row in self.rows if row.certified_on]


# Every row of the file while it is checked: keeps the memory flat, and lets the database check
# what rows may not repeat. Temporary: each connection has its own, gone with the transaction.
_STAGING = Table(
    "mediators_import_rows",
    MetaData(),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("email", String(320)),
    Column("number", String(MAX_NUMBER_LENGTH)),
    Column("public_id", String(16)),
    # Without a problem so far (its own values, repeats); only clean rows are written.
    Column("is_clean", Boolean, nullable=False),
    # Covered by another certification or with dated specialisations: check its person whole.
    Column("is_linked", Boolean, nullable=False),
    # The first clean line of the row's e-mail address: its person's profile.
    Column("person_line", Integer),
    # The parsed values (``_RowChecker.check``), pickled.
    Column("clean", LargeBinary, nullable=False),
    Index("ix_mediators_import_rows_email", "email"),
    Index("ix_mediators_import_rows_number", "number"),
    Index("ix_mediators_import_rows_public_id", "public_id"),
    Index("ix_mediators_import_rows_person_line", "person_line", "line"),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


class _Bad(ValueError):
    """A problem with one value of a row; its message is reported with the line."""


def import_mediators(
    session: Session,
    stream: IO[bytes] | IO[str],
    *,
    today: date,
    now: datetime,
    actor: User | None,
    source: str = "csv",
    specialisations_are_granted: bool = False,
) -> ImportSummary:
    """Import every row of a mediators CSV, or nothing: raise ImportFailed on any bad row."""
    _STAGING.create(session.connection())
    try:
        _check_file(session, stream, today, specialisations_are_granted)
        basis = f"Imported as granted from {source} on {today.isoformat()}."
        # A savepoint, so that a file the rules refuse only once written leaves nothing behind.
        with session.begin_nested():
            written = _create(session, today=today, now=now, actor=actor, basis=basis)
    except ImportFailed:
        _STAGING.drop(session.connection())
        raise
    _STAGING.drop(session.connection())
    summary = ImportSummary(dict(written.statuses))
    record_event(
        session,
        action="mediators.imported",
        subject_type="import",
        subject_id=source[:64],
        now=now,
        actor=actor,
        data={
            "file": source,
            "mediators": summary.total,
            "statuses": summary.statuses,
            "certifications": written.certifications,
            "specialisations_granted": written.specialisations,
        },
    )
    session.flush()
    return summary


def _check_file(
    session: Session, stream: IO[bytes] | IO[str], today: date, specialisations_are_granted: bool
) -> None:
    """Check every row into the staging table; raise ImportFailed with every problem found.

    Each row's own values are checked as it is read; what rows may not repeat, the people they
    form and what the database holds already are then checked in SQL over the staged rows.
    """
    errors: list[tuple[int, str]] = []
    checker = _RowChecker(session, today, specialisations_are_granted)
    staged = []
    for line, values in _records(stream, errors):
        clean, problems = checker.check(values)
        errors.extend((line, problem) for problem in problems)
        staged.append(_staged(line, clean, problems))
        if len(staged) == STAGE_BATCH:
            _insert_rows(session, _STAGING, staged)
            staged = []
    if staged:
        _insert_rows(session, _STAGING, staged)
    # Appended in the order the problems of one line are reported (ImportFailed sorts stably).
    errors += _repeat_problems(session)
    errors += _people_problems(session)
    errors += _database_problems(session)
    if errors:
        raise ImportFailed(errors)


def _lines(stream: Iterable[bytes | str], errors: list[tuple[int, str]]) -> Iterator[str]:
    """Yield the physical lines as text, reporting any that are not UTF-8; drop a BOM."""
    for number, raw in enumerate(stream, start=1):
        if isinstance(raw, str):
            text = raw
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                errors.append((number, "the line is not valid UTF-8 text"))
                text = raw.decode("utf-8", "replace")
        yield text.removeprefix("\ufeff") if number == 1 else text


def _records(
    stream: Iterable[bytes | str], errors: list[tuple[int, str]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (first physical line, values by column) for each non-blank row.

    Optional columns the header leaves out read as empty.
    """
    reader = csv.reader(_lines(stream, errors), strict=True)
    try:
        header = _header(next(reader, None), errors)
        if header is None:
            return
        absent = dict.fromkeys((column for column in MIGRATION if column not in header), "")
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                errors.append((start, f"expected {len(header)} fields, found {len(cells)}"))
                continue
            # A file this registry exported marks formula-like cells as text: unmark them.
            yield start, absent | dict(zip(header, map(csvfiles.restore, cells), strict=True))
    except csv.Error as error:
        errors.append((reader.line_num, f"the CSV is malformed: {error}"))


def _header(cells: list[str] | None, errors: list[tuple[int, str]]) -> list[str] | None:
    """Return the header's column names, or None after reporting why it is wrong."""
    expected = f"{','.join(COLUMNS)} (and optionally any of {','.join(MIGRATION)})"
    if cells is None:
        errors.append((1, f"the file is empty; the first line must be the header {expected}"))
        return None
    names = [cell.strip().lower() for cell in cells]
    missing = [column for column in COLUMNS if column not in names]
    extra = [name for name in names if name not in IMPORT_COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected: {', '.join(extra)}")
    if len(set(names)) != len(names):
        problems.append("a column is repeated")
    if problems:
        reason = "; ".join(problems)
        errors.append((1, f"the header must have exactly the columns {expected} ({reason})"))
        return None
    return names


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise _Bad("name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise _Bad(f"name is longer than {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise _Bad("name contains control characters")
    return name


def _email(value: str) -> str:
    email = normalise_email(value)
    if not email:
        raise _Bad("email is required")
    local, _, domain = email.rpartition("@")
    if _SIMPLE_LOCAL.fullmatch(local) and len(email) <= MAX_SIMPLE_EMAIL and _domain_ok(domain):
        return email  # what validate_email accepts, without its cost for each row
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise _Bad(f"email {email!r} is not a valid e-mail address: {error}") from None
    return email


@lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    """Say whether validate_email accepts the domain: an import has few, each on many rows."""
    if not domain.isascii() or "xn--" in domain:
        return False  # the length of its other form is checked too: ask about the whole
    try:
        validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _country(value: str) -> str:
    if not value.strip():
        raise _Bad("country is required")
    code = country_code(value)
    if code is None:
        raise _Bad(f"unknown country {value.strip()!r}; use an ISO code (NL) or English name")
    return code


def _items(value: str) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in value.split(";") if item.strip()))


def _languages(value: str) -> list[str]:
    codes = {item: language_code(item) for item in _items(value)}
    unknown = [item for item, code in codes.items() if code is None]
    if unknown:
        raise _Bad(f"unknown language(s): {', '.join(unknown)}")
    return list(dict.fromkeys(code for code in codes.values() if code))


def _certificate_number(value: str, column: str = "certificate_number") -> str | None:
    number = value.strip().upper()
    if not number:
        return None
    if len(number) > MAX_NUMBER_LENGTH or not all(c.isalnum() or c in "-/." for c in number):
        raise _Bad(
            f"{column} {number!r} is not 1 to {MAX_NUMBER_LENGTH} letters, digits, "
            "dashes, dots or slashes"
        )
    return number


def _date(column: str, value: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{column} {text!r} is not a date in the form YYYY-MM-DD") from None


def _public_id(value: str) -> str | None:
    public_id = value.strip().upper()
    if not public_id:
        return None
    if not _PUBLIC_ID.fullmatch(public_id):
        raise _Bad(f"public_id {value.strip()!r} is not 6 to 16 letters and digits")
    return public_id


def _certification_type(value: str) -> CertificationType:
    text = value.strip().casefold()
    if not text:
        return CertificationType.MEDIATOR
    for kind in CertificationType:
        if text in (kind.value, _english_label(kind)):
            return kind
    raise _Bad(f"certification_type {value.strip()!r} is not one of mediator, advocate")


@cache
def _english_label(kind: CertificationType) -> str:
    with force_locale("en"):  # a file's columns are English, whatever the page's language
        return kind.label.casefold()


def _listing_periods(value: str) -> list[_Period]:
    periods = []
    for item in _items(value):
        match = _PERIOD.fullmatch(item.replace(" ", ""))
        if not match:
            raise _Bad(f"listing period {item!r} is not START/END@SETTLED (dates YYYY-MM-DD)")
        start, end, settled = (_date("listing_periods", part) for part in match.groups())
        if end < start:
            raise _Bad(f"listing period {item!r} ends before it starts")
        periods.append(_Period(start, end, settled))
    return sorted(periods, key=lambda period: (period.start, period.settled_on))


def _reason(column: str, value: str) -> str | None:
    reason = value.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise _Bad(f"{column} is longer than {MAX_REASON_LENGTH} characters")
    return reason or None


def _certification_problems(
    values: dict[str, str], clean: dict[str, Any], today: date
) -> list[str]:
    """Return what is wrong with how the certification columns go together."""
    columns = ("certificate_number", "certified_on", "paid_until")
    given = {column: bool(values[column].strip()) for column in columns}
    certified_on, paid_until = clean.get("certified_on"), clean.get("paid_until")
    problems = []
    if given["certificate_number"] and not given["certified_on"]:
        problems.append("certificate_number needs certified_on; an applicant has no certificate")
    if given["certified_on"] and not given["certificate_number"]:
        problems.append("certified_on needs a certificate_number")
    if given["paid_until"] and not given["certified_on"]:
        problems.append("paid_until needs certified_on; an applicant has no listing period")
    if certified_on and certified_on > today:
        problems.append(f"certified_on {certified_on} is in the future")
    if certified_on and paid_until and paid_until < certified_on:
        problems.append(f"paid_until {paid_until} is before certified_on {certified_on}")
    return problems


def _migration_problems(values: dict[str, str], clean: dict[str, Any], today: date) -> list[str]:
    """Return what is wrong with the optional migration columns of one row."""
    certified_on = clean.get("certified_on")
    problems = []
    if not values["certified_on"].strip():
        needing = ("listing_periods", "covered_by", "suspended_on", "revoked_on")
        problems += [
            f"{column} needs certified_on; an applicant has no certification"
            for column in needing
            if values[column].strip()
        ]
    for column in ("created_on", "suspended_on", "suspension_lifted_on", "revoked_on"):
        day = clean.get(column)
        if day and day > today:
            problems.append(f"{column} {day} is in the future")
        elif day and certified_on and column != "created_on" and day < certified_on:
            problems.append(f"{column} {day} is before certified_on {certified_on}")
    for on, reason, label in (
        ("suspended_on", "suspension_reason", "a suspension"),
        ("revoked_on", "revocation_reason", "a revocation"),
    ):
        if values[on].strip() and not values[reason].strip():
            problems.append(f"{on} needs {reason}: {label} is shown publicly with its reason")
        if values[reason].strip() and not values[on].strip():
            problems.append(f"{reason} needs {on}")
    suspended, lifted = clean.get("suspended_on"), clean.get("suspension_lifted_on")
    if values["suspension_lifted_on"].strip() and not values["suspended_on"].strip():
        problems.append("suspension_lifted_on needs suspended_on")
    elif suspended and lifted and lifted < suspended:
        problems.append(f"suspension_lifted_on {lifted} is before suspended_on {suspended}")
    return problems + _coverage_problems(values, clean, today)


def _coverage_problems(values: dict[str, str], clean: dict[str, Any], today: date) -> list[str]:
    """Return what is wrong with listing_periods, paid_until and covered_by together."""
    periods: list[_Period] = clean.get("listing_periods") or []
    certified_on, paid_until = clean.get("certified_on"), clean.get("paid_until")
    problems = []
    if values["covered_by"].strip() and (values["listing_periods"].strip() or paid_until):
        problems.append(
            "a certification covered_by another pays no listing contribution of its own: "
            "leave listing_periods and paid_until empty"
        )
    for period in periods:
        if period.settled_on > today:
            problems.append(f"listing period settled on {period.settled_on}, in the future")
        if certified_on and period.start < certified_on:
            problems.append(
                f"listing period {period.start}/{period.end} starts before certified_on "
                f"{certified_on}"
            )
    last_end = max((period.end for period in periods), default=None)
    if periods and paid_until != last_end:
        problems.append(
            f"paid_until must be the end of the last listing period ({last_end}), "
            f"not {paid_until or 'empty'}"
        )
    return problems


class _RowChecker:
    """Check the values of rows one at a time (what rows may not repeat is checked in SQL)."""

    def __init__(self, session: Session, today: date, specialisations_are_granted: bool) -> None:
        self.today = today
        self.specialisations_are_granted = specialisations_are_granted
        self.specialisations = {
            key.casefold(): code
            for code, name in session.execute(select(Specialisation.code, Specialisation.name))
            for key in (code, name)
        }
        self.parsers: dict[str, Callable[[str], Any]] = {
            "name": _name,
            "email": _email,
            "country": _country,
            "languages": _languages,
            "specialisations": self._specialisations,
            "certificate_number": _certificate_number,
            "certified_on": partial(_date, "certified_on"),
            "paid_until": partial(_date, "paid_until"),
            "public_id": _public_id,
            "certification_type": _certification_type,
            "created_on": partial(_date, "created_on"),
            "listing_periods": _listing_periods,
            "covered_by": partial(_certificate_number, column="covered_by"),
            "suspended_on": partial(_date, "suspended_on"),
            "suspension_lifted_on": partial(_date, "suspension_lifted_on"),
            "suspension_reason": partial(_reason, "suspension_reason"),
            "revoked_on": partial(_date, "revoked_on"),
            "revocation_reason": partial(_reason, "revocation_reason"),
        }

    def check(self, values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
        """Return the parsed values of one row (those that parse) and its problems."""
        clean: dict[str, Any] = {}
        problems = []
        for column, parse in self.parsers.items():
            try:
                clean[column] = parse(values[column])
            except _Bad as bad:
                problems.append(str(bad))
        problems += _certification_problems(values, clean, self.today)
        problems += _migration_problems(values, clean, self.today)
        if clean.get("specialisations") and not clean.get("certified_on"):
            problems.append("specialisations need certified_on; an applicant holds none")
        problems += self._grant_problems(clean)
        return clean, problems

    def _specialisations(self, value: str) -> list[_Grant]:
        items = _items(value)
        if items and not self.specialisations_are_granted:
            raise _Bad(
                "specialisations are credentials the registry grants; import them only from "
                "a registry that granted them, with --specialisations-are-granted"
            )
        grants, unknown = [], []
        for item in items:
            match = _GRANT.fullmatch(item)
            code = self.specialisations.get(match[1].casefold()) if match else None
            if code is None:
                unknown.append(match[1] if match else item)
                continue
            granted_on = _date("specialisation granted_on", match[2] or "")
            valid_until = _date("specialisation valid_until", match[3] or "")
            grants.append(_Grant(code, granted_on, valid_until))
        if unknown:
            raise _Bad(f"unknown specialisation(s): {', '.join(unknown)}")
        return list({grant.code: grant for grant in grants}.values())

    def _grant_problems(self, clean: dict[str, Any]) -> list[str]:
        problems = []
        for grant in clean.get("specialisations") or []:
            if grant.granted_on and grant.granted_on > self.today:
                problems.append(f"specialisation {grant.code} is granted in the future")
            if grant.valid_until and grant.granted_on and grant.valid_until < grant.granted_on:
                problems.append(f"specialisation {grant.code} expires before it is granted")
        return problems


def _staged(line: int, clean: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Return the staging row of one line of the file."""
    grants: list[_Grant] = clean.get("specialisations") or []
    return {
        "line": line,
        "email": clean.get("email"),
        "number": clean.get("certificate_number"),
        "public_id": clean.get("public_id"),
        "is_clean": not problems,
        "is_linked": bool(clean.get("covered_by")) or any(grant.granted_on for grant in grants),
        # Only this transaction reads it back: pickle keeps the parsed values as they are.
        "clean": pickle.dumps(clean, pickle.HIGHEST_PROTOCOL),
    }


def _unpickled(line: int, clean: bytes) -> dict[str, Any]:
    return {"line": line, **pickle.loads(clean)}  # noqa: S301 -- written by _staged above


def _repeat_problems(session: Session) -> list[tuple[int, str]]:
    """Report repeated numbers, public ids of another person and e-mails of another profile.

    A number or public id repeats its first row, whatever that row's problems; an e-mail
    repeats the first row of that address without problems, the person's profile.
    """
    numbers = [
        (line, f"certificate number {value} is also on line {first}")
        for line, value, first, *_ in session.execute(_later_lines(_STAGING.c.number))
    ]
    public_ids = [
        (line, f"public_id {value} is also on line {first} (another person)")
        for line, value, first, email, owner in session.execute(_later_lines(_STAGING.c.public_id))
        if owner != email
    ]
    _set_unclean(session, [line for line, _ in numbers + public_ids])
    first_clean = (
        select(_STAGING.c.email, func.min(_STAGING.c.line).label("line"))
        .where(_STAGING.c.is_clean)
        .group_by(_STAGING.c.email)
        .subquery()
    )
    session.execute(
        update(_STAGING)
        .where(_STAGING.c.email == first_clean.c.email)
        .values(person_line=first_clean.c.line)
    )
    emails = list(_repeated_emails(session))
    _set_unclean(session, [line for line, _ in emails])
    return emails + numbers + public_ids


def _later_lines(column: Column[str]) -> Any:
    """Select the lines of values seen on a line before: line, value, first line, both e-mails."""
    first = (
        select(column.label("value"), func.min(_STAGING.c.line).label("line"))
        .where(column.is_not(None))
        .group_by(column)
        .having(func.count() > 1)
        .subquery()
    )
    owner = _STAGING.alias("owner")
    return (
        select(_STAGING.c.line, first.c.value, first.c.line, _STAGING.c.email, owner.c.email)
        .join(first, first.c.value == column)
        .join(owner, owner.c.line == first.c.line)
        .where(_STAGING.c.line > first.c.line)
        .order_by(_STAGING.c.line)
    )


def _set_unclean(session: Session, lines: list[int]) -> None:
    for start in range(0, len(lines), LOOKUP_CHUNK):
        chunk = lines[start : start + LOOKUP_CHUNK]
        session.execute(update(_STAGING).where(_STAGING.c.line.in_(chunk)).values(is_clean=False))


def _repeated_emails(session: Session) -> Iterator[tuple[int, str]]:
    """Report later rows of an e-mail address that are no other certification of its person."""
    profile = _STAGING.alias("profile")
    query = (
        select(_STAGING.c.line, _STAGING.c.clean, profile.c.line, profile.c.clean)
        .join(profile, profile.c.line == _STAGING.c.person_line)
        .where(_STAGING.c.line > _STAGING.c.person_line)
        .order_by(_STAGING.c.line)
        .execution_options(yield_per=STAGE_BATCH)
    )
    for line, clean, first_line, first_clean in session.execute(query):
        first = _Row(**_unpickled(first_line, first_clean))
        for problem in _same_person(pickle.loads(clean), first):  # noqa: S301 -- as _unpickled
            yield line, problem


def _same_person(clean: dict[str, Any], first: _Row) -> list[str]:
    """Say what stops a row from being another certification of ``first``'s person."""
    differ = [c for c in PROFILE_COLUMNS if clean.get(c) != getattr(first, c)]
    if first.certificate_number and clean.get("certificate_number") and not differ:
        return []
    why = (
        f"its {', '.join(differ)} differ{'s' if len(differ) == 1 else ''}"
        if differ
        else "a person's rows each hold one certification"
    )
    return [f"e-mail address {clean['email']} is also on line {first.line} ({why})"]


def _people_problems(session: Session) -> list[tuple[int, str]]:
    """Report certifications and specialisations of one person that cannot go together.

    Only a person with a covered certification or dated specialisations can have any.
    """
    linked = select(_STAGING.c.person_line).where(_STAGING.c.is_clean, _STAGING.c.is_linked)
    query = (
        select(_STAGING.c.line, _STAGING.c.clean)
        .where(_STAGING.c.is_clean, _STAGING.c.person_line.in_(linked))
        .order_by(_STAGING.c.person_line, _STAGING.c.line)
    )
    rows = session.execute(query.execution_options(yield_per=STAGE_BATCH))
    return [problem for person in _people(rows) for problem in _person_problems(person)]


def _people(rows: Iterable[Row[Any]]) -> Iterator[_Person]:
    """Group clean staged rows, in person order, into people."""
    person: _Person | None = None
    for line, clean in rows:
        row = _Row(**_unpickled(line, clean))
        if person is not None and row.email == person.profile.email:
            person.rows.append(row)
            continue
        if person is not None:
            yield person
        person = _Person([row])
    if person is not None:
        yield person


def _person_problems(person: _Person) -> list[tuple[int, str]]:
    problems = []
    by_number = {row.certificate_number: row for row in person.granted}
    for row in person.granted:
        problem = _coverage_link_problem(row, by_number)
        if problem:
            problems.append((row.line, problem))
    first = min((row.certified_on for row in person.granted), default=None)
    early = [
        grant.code
        for grant in person.profile.specialisations
        if first and grant.granted_on and grant.granted_on < first
    ]
    if early:
        problems.append(
            (
                person.profile.line,
                f"specialisation(s) {', '.join(early)} granted before the first "
                f"certification ({first}); only a certified mediator is granted one",
            )
        )
    return problems


def _database_problems(session: Session) -> list[tuple[int, str]]:
    """Report e-mail addresses, public ids and numbers the database holds already."""
    staged = _STAGING.c
    profiles = (
        select(staged.line, staged.email)
        .join(Mediator, Mediator.email == staged.email)
        .where(staged.line == staged.person_line)
    )
    problems = [
        (line, f"a mediator profile with the e-mail {email} exists already")
        for line, email in session.execute(profiles)
    ]
    for column, held, message in (
        (
            staged.public_id,
            Mediator.public_id,
            "public_id {} belongs to a mediator in this registry already",
        ),
        (
            staged.number,
            Certification.certificate_number,
            "certificate number {} is in use already; numbers are never reused",
        ),
    ):
        query = (
            select(func.min(staged.line), column)
            .join_from(_STAGING, held.class_, held == column)
            .group_by(column)
        )
        problems += [(line, message.format(value)) for line, value in session.execute(query)]
    return problems


def _coverage_link_problem(row: _Row, by_number: dict[str | None, _Row]) -> str | None:
    """Return what is wrong with the row's ``covered_by``, if anything."""
    if row.covered_by is None:
        return None
    payer = by_number.get(row.covered_by)
    if payer is None:
        return f"covered_by {row.covered_by} is not a certificate of this person"
    if payer.covered_by is not None or payer.certification_type is row.certification_type:
        return (
            f"covered_by {row.covered_by} must be this person's certification of the other "
            "type, which pays for itself"
        )
    if payer.certified_on > row.certified_on:
        return f"covered_by {row.covered_by} was granted after this certification"
    return None


@dataclass
class _Written:
    """What an import wrote: mediators by status, certifications, specialisations granted."""

    statuses: Counter[str] = field(default_factory=Counter)
    certifications: int = 0
    specialisations: int = 0


def _create(
    session: Session, *, today: date, now: datetime, actor: User | None, basis: str
) -> _Written:
    """Write the clean staged rows, IMPORT_BATCH people at a time; say what was written.

    A person's rows are written in one batch, so each batch is complete: its certifications
    are checked against the rules, and their statuses recorded, before the next is read.
    """
    currencies = {rate.year: rate.currency for rate in session.scalars(select(FeeRate))}
    grace, written = grace_days(), _Written()
    order_errors: list[tuple[int, str]] = []
    uncovered: list[tuple[int, str]] = []
    for people in _clean_people(session):
        mediator_ids = _insert_profiles(session, people, now)
        granted = [
            (row, id_)
            for person, id_ in zip(people, mediator_ids, strict=True)
            for row in person.granted
        ]
        numbers = _insert_grants(session, granted, today, actor, currencies)
        _insert_specialisations(session, people, mediator_ids, actor, now, basis)
        _link_coverage(session, people, numbers)
        order_errors += _grant_order_problems(session, people, numbers, grace)
        uncovered += _uncovered(session, people, numbers, grace)
        written.certifications += len(granted)
        written.specialisations += sum(len(person.profile.specialisations) for person in people)
        if order_errors or uncovered:
            continue  # all of it is undone: only the problems matter now
        written.statuses += _settle_statuses(session, people, numbers, today, grace)
        # Bulk inserts bypass the session events that keep the search index in step.
        holders = [id_ for person, id_ in zip(people, mediator_ids, strict=True) if person.granted]
        refresh_listings(session, holders, today)
    if order_errors or uncovered:
        raise ImportFailed(order_errors + uncovered)
    return written


def _clean_people(session: Session) -> Iterator[list[_Person]]:
    """Yield the people of the clean staged rows, IMPORT_BATCH at a time, in file order."""
    staged, last = _STAGING.c, 0
    while True:
        profiles = (
            select(staged.line)
            .where(staged.line == staged.person_line, staged.line > last)
            .order_by(staged.line)
            .limit(IMPORT_BATCH)
            .subquery()
        )
        bound = session.scalar(select(func.max(profiles.c.line)))
        if bound is None:
            return
        rows = session.execute(
            select(staged.line, staged.clean)
            .where(staged.is_clean, staged.person_line > last, staged.person_line <= bound)
            .order_by(staged.person_line, staged.line)
        )
        yield list(_people(rows))
        last = bound


# The tables themselves: the import writes plain rows, and the ORM's bulk layer costs more
# than the database for each of them.
_MEDIATORS = cast(Table, Mediator.__table__)
_CERTIFICATIONS = cast(Table, Certification.__table__)
_SET_COVERED_BY = (
    update(_CERTIFICATIONS)
    .where(_CERTIFICATIONS.c.id == bindparam("key"))
    .values(covered_by_id=bindparam("covered_by_id"))
)


def _insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table``: with COPY on PostgreSQL, where it is many times faster.

    The values go through the columns' own bind processing, as an INSERT would send them.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    # The columns' own defaults, as INSERT would fill them in (none here is a callable).
    defaults = {
        column.name: column.default.arg  # type: ignore[attr-defined]
        for column in table.columns
        if column.name not in rows[0] and column.default is not None and column.default.is_scalar
    }
    processors = [
        table.c[name].type.bind_processor(connection.dialect) for name in [*names, *defaults]
    ]
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(map(preparer.quote, [*names, *defaults]))
    statement = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            values = [*(row[name] for name in names), *defaults.values()]
            copy.write_row(
                [
                    process(value) if process else value
                    for value, process in zip(values, processors, strict=True)
                ]
            )


_SET_RECORDED_STATUS = (
    update(_CERTIFICATIONS)
    .where(_CERTIFICATIONS.c.id == bindparam("key"))
    .values(
        recorded_status=bindparam("recorded_status"), recorded_since=bindparam("recorded_since")
    )
)


def _inserted_ids(
    session: Session, table: Table, rows: list[dict[str, Any]], key: str
) -> list[int]:
    """Insert ``rows`` into ``table``; return their ids in the order of ``rows``.

    PostgreSQL draws the ids from the table's sequence first. SQLite's are read back by
    ``key``, a unique column. (RETURNING in the order of the rows would make SQLAlchemy send
    one INSERT for each row; reading back on PostgreSQL slowed batch by batch at a million rows,
    likely the prepared lookup keeping a plan made while the table was small.)
    """
    if session.get_bind().dialect.name == "postgresql":
        drawn = func.nextval(func.pg_get_serial_sequence(table.name, "id")).label("id")
        new_ids = list(
            session.scalars(
                select(drawn).select_from(func.generate_series(1, len(rows))).order_by(drawn)
            )
        )
        _insert_rows(
            session, table, [{"id": id_, **row} for id_, row in zip(new_ids, rows, strict=True)]
        )
        return new_ids
    _insert_rows(session, table, rows)
    column, ids = table.c[key], {}
    for start in range(0, len(rows), LOOKUP_CHUNK):
        chunk = [row[key] for row in rows[start : start + LOOKUP_CHUNK]]
        query = select(column, table.c.id).where(column.in_(chunk))
        ids.update((value, id_) for value, id_ in session.execute(query))
    return [ids[row[key]] for row in rows]


def _set_recorded_statuses(session: Session, recorded: list[dict[str, Any]]) -> None:
    """Set the recorded status and its start of certifications.

    PostgreSQL takes them VALUES_CHUNK at a time in an UPDATE ... FROM VALUES, one statement
    instead of one for each certification as an executemany sends them; SQLite, which names no
    columns of VALUES, runs the executemany in-process at little cost for each.
    """
    if session.get_bind().dialect.name != "postgresql":
        session.execute(_SET_RECORDED_STATUS, recorded)
        return
    for start in range(0, len(recorded), VALUES_CHUNK):
        _set_recorded_values(session, recorded[start : start + VALUES_CHUNK])


def _set_recorded_values(session: Session, recorded: list[dict[str, Any]]) -> None:
    given = (
        sql_values(
            sql_column("key", Integer),
            sql_column("recorded_status", String),
            sql_column("recorded_since", Date),
            name="given",
        )
        .data([(row["key"], row["recorded_status"], row["recorded_since"]) for row in recorded])
        .alias("given")
    )
    session.execute(
        update(_CERTIFICATIONS)
        .where(_CERTIFICATIONS.c.id == given.c.key)
        .values(recorded_status=given.c.recorded_status, recorded_since=given.c.recorded_since)
    )


def _created_at(created_on: date | None, now: datetime) -> datetime:
    """Return the instant a profile was made: ``now``, or noon of its day in the registry."""
    if created_on is None:
        return now
    return datetime.combine(created_on, time(12), tzinfo=registry_zone()).astimezone(UTC)


def _insert_profiles(session: Session, batch: list[_Person], now: datetime) -> list[int]:
    """Insert the profiles with their languages; return their ids."""
    profiles = []
    for person in batch:
        row = person.profile
        profile = {
            "name": row.name,
            # Bulk inserts skip the model's name validator, which keeps the search form.
            "search_name": search_form(row.name),
            "email": row.email,
            "country": row.country,
            "public_id": row.public_id or new_public_id(),
            "created_at": _created_at(row.created_on, now),
            "updated_at": now,
        }
        profiles.append(profile)
    ids = _inserted_ids(session, _MEDIATORS, profiles, "email")
    languages = [
        {"mediator_id": id_, "code": code}
        for person, id_ in zip(batch, ids, strict=True)
        for code in person.profile.languages
    ]
    if languages:
        _insert_rows(session, cast(Table, MediatorLanguage.__table__), languages)
    return ids


def _insert_specialisations(
    session: Session,
    batch: list[_Person],
    mediator_ids: list[int],
    actor: User | None,
    now: datetime,
    basis: str,
) -> None:
    """Insert each person's specialisations: on their own dates, else from the first grant."""
    grants = [
        {
            "mediator_id": mediator_id,
            "code": grant.code,
            "granted_on": grant.granted_on or min(row.certified_on for row in person.granted),
            "valid_until": grant.valid_until,
            "basis": basis,
            "granted_by_id": actor.id if actor else None,
            "granted_at": now,
        }
        for person, mediator_id in zip(batch, mediator_ids, strict=True)
        for grant in person.profile.specialisations
    ]
    if grants:
        _insert_rows(session, cast(Table, SpecialisationGrant.__table__), grants)


def _insert_grants(
    session: Session,
    granted: list[tuple[_Row, int]],
    today: date,
    actor: User | None,
    currencies: dict[int, str],
) -> dict[str, int]:
    """Insert the certifications and their settled periods; return their ids by number."""
    if not granted:
        return {}
    grants = [
        {
            "mediator_id": mediator_id,
            "certificate_number": row.certificate_number,
            "certification_type": row.certification_type.value,
            "granted_on": row.certified_on,
            "granted_by_id": actor.id if actor else None,
            "suspended_on": row.suspended_on,
            "suspension_reason": row.suspension_reason,
            "suspension_lifted_on": row.suspension_lifted_on,
            "revoked_on": row.revoked_on,
            "revocation_reason": row.revocation_reason,
            # Set from the computed status once everything is written (``_settle_statuses``).
            "recorded_status": Status.APPLICANT.value,
            "recorded_since": row.certified_on,
        }
        for row, mediator_id in granted
    ]
    ids = _inserted_ids(session, _CERTIFICATIONS, grants, "certificate_number")
    invoices = [
        _settled_period(period, id_, today, currencies)
        for (row, _), id_ in zip(granted, ids, strict=True)
        for period in row.periods()
    ]
    if invoices:
        _insert_rows(session, cast(Table, Invoice.__table__), invoices)
    return {row.certificate_number: id_ for (row, _), id_ in zip(granted, ids, strict=True)}


def _settled_period(
    period: _Period, certification_id: int, today: date, currencies: dict[int, str]
) -> dict[str, Any]:
    """Return the invoice of a period settled before the registry kept the books.

    It is for zero and settled on the day the source registry settled it, so the period
    counts as covered from that day on, as it did there.
    """
    return {
        "certification_id": certification_id,
        "period_start": period.start,
        "period_end": period.end,
        "amount_minor": 0,
        "currency": currencies.get(period.start.year, "EUR"),
        "tier": Tier.FULL.value,
        "issued_on": today,
        "settled_on": period.settled_on,
    }


def _link_coverage(session: Session, people: list[_Person], numbers: dict[str, int]) -> None:
    """Point each covered certification at the one whose listing periods cover it."""
    links = [
        {"key": numbers[row.certificate_number], "covered_by_id": numbers[row.covered_by]}
        for person in people
        for row in person.granted
        if row.covered_by
    ]
    if links:
        session.execute(_SET_COVERED_BY, links)


def _grant_order_problems(
    session: Session, people: list[_Person], numbers: dict[str, int], grace: int
) -> list[tuple[int, str]]:
    """Report a second grant of a type while the first still held, as ``grant`` would.

    Checked once written, with the status rules themselves; the caller's savepoint undoes it.
    """
    errors = []
    for person in people:
        rows = sorted(person.granted, key=lambda row: (row.certified_on, row.line))
        pairs = [
            pair
            for kind in CertificationType
            for pair in pairwise(row for row in rows if row.certification_type is kind)
        ]
        for earlier, later in pairs:
            certification = session.get(Certification, numbers[earlier.certificate_number])
            status = certification_standing(session, certification, later.certified_on, grace)
            if status.status not in (Status.STRUCK, Status.REVOKED):
                errors.append(
                    (
                        later.line,
                        f"certificate {earlier.certificate_number} (line {earlier.line}) is "
                        f"{status.status.value} on {later.certified_on}; a new grant of the same "
                        "type needs it struck or revoked first",
                    )
                )
    return errors


def _uncovered(
    session: Session, people: list[_Person], numbers: dict[str, int], grace: int
) -> list[tuple[int, str]]:
    """Report covered grants whose payer was not certified on their day, as ``grant`` would."""
    errors = []
    for row in (row for person in people for row in person.granted if row.covered_by):
        payer = session.get(Certification, numbers[row.covered_by])
        status = certification_standing(session, payer, row.certified_on, grace).status
        if status is not Status.CERTIFIED:
            errors.append(
                (
                    row.line,
                    f"covered_by {row.covered_by} is {status.value} on {row.certified_on}; one "
                    "contribution covers both certifications only while it is certified",
                )
            )
    return errors


def _settle_statuses(
    session: Session, people: list[_Person], numbers: dict[str, int], today: date, grace: int
) -> Counter[str]:
    """Record every new certification's status; return how many people are in each."""
    ids = sorted(numbers.values())
    standings: dict[int, Status] = {}
    if ids:
        standings = _remember_statuses(session, ids, today, grace)
        # Bulk inserts bypass the session events that keep the status lists in step too.
        update_status_bits(session, ids)
    statuses: Counter[str] = Counter()
    for person in people:
        rows = sorted(person.granted, key=lambda row: (row.certified_on, row.line))
        held = [standings[numbers[row.certificate_number]] for row in rows]
        statuses[_primary(held).value if held else Status.APPLICANT.value] += 1
    return statuses


def _primary(statuses: list[Status]) -> Status:
    """Return the status that speaks for a person: certified if any is, else the latest."""
    return Status.CERTIFIED if Status.CERTIFIED in statuses else statuses[-1]


def _remember_statuses(
    session: Session, ids: list[int], today: date, grace: int
) -> dict[int, Status]:
    """Record each new certification's status for ``today``; return them by id."""
    wanted = set(ids)
    rows = [
        row
        for row in session.execute(status_rows(today, grace, ids=(min(ids), max(ids))))
        # The range may hold grants that someone else made meanwhile.
        if row.certification_id in wanted
    ]
    if rows:
        recorded = [
            {
                "key": row.certification_id,
                "recorded_status": row.status,
                "recorded_since": since(row, grace),
            }
            for row in rows
        ]
        _set_recorded_statuses(session, recorded)
    # A grant not yet in effect on ``today`` has no row: it is an applicant's.
    found = {row.certification_id: Status(row.status) for row in rows}
    return {id_: found.get(id_, Status.APPLICANT) for id_ in ids}


_PAGE = select(
    Mediator.id,
    Mediator.public_id,
    Mediator.name,
    Mediator.email,
    Mediator.country,
    Mediator.created_at,
).order_by(Mediator.id)


def export_mediators(
    session: Session, out: IO[str], *, today: date, for_import: bool = False, bom: bool = False
) -> int:
    """Write every mediator to ``out`` as CSV, batch by batch; return how many were written.

    ``for_import`` writes the import columns, migration columns included, one row for each
    certification (a person without one has one row), so the file imports into an empty
    registry that then answers every verifier as this one does today. ``bom`` starts the file
    with the UTF-8 byte order mark, for Excel.
    """
    writer = csvfiles.writer(out, bom=bom)
    writer.writerow(IMPORT_COLUMNS if for_import else EXPORT_COLUMNS)
    grace, count, last_id = grace_days(), 0, 0
    while batch := session.execute(_PAGE.where(Mediator.id > last_id).limit(EXPORT_BATCH)).all():
        if for_import:
            writer.writerows(_migration_rows(session, batch, today))
        else:
            writer.writerows(_export_rows(session, batch, today, grace))
        count, last_id = count + len(batch), batch[-1].id
    return count


def _migration_rows(session: Session, batch: list[Row[Any]], today: date) -> list[list[str]]:
    """Return the import rows of one batch of mediators: one per certification."""
    low, high = batch[0].id, batch[-1].id
    languages = _codes(session, MediatorLanguage, low, high)
    grants = _live_grants(session, low, high, today)
    certifications = _certifications(session, low, high)
    periods = _settled_periods(session, low, high, today)
    rows = []
    for mediator in batch:
        profile = [
            mediator.name,
            mediator.email,
            mediator.country or "",
            ";".join(languages[mediator.id]),
            ";".join(grants[mediator.id]),
        ]
        held = certifications[mediator.id] or [None]
        rows += [[*profile, *_migration_columns(mediator, each, periods, today)] for each in held]
    return rows


def _live_grants(session: Session, low: int, high: int, today: date) -> defaultdict[int, list[str]]:
    """Return each mediator's specialisations live today, as "code@granted_on[/valid_until]"."""
    grants: defaultdict[int, list[str]] = defaultdict(list)
    query = (
        select(SpecialisationGrant)
        .where(SpecialisationGrant.mediator_id.between(low, high))
        .where(SpecialisationGrant.live_on(today))
        .order_by(SpecialisationGrant.mediator_id, SpecialisationGrant.code)
    )
    for grant in session.scalars(query):
        until = f"/{grant.valid_until.isoformat()}" if grant.valid_until else ""
        grants[grant.mediator_id].append(f"{grant.code}@{grant.granted_on.isoformat()}{until}")
    return grants


def _certifications(session: Session, low: int, high: int) -> defaultdict[int, list[Certification]]:
    """Return each mediator's certifications in grant order."""
    held: defaultdict[int, list[Certification]] = defaultdict(list)
    query = (
        select(Certification)
        .where(Certification.mediator_id.between(low, high))
        .order_by(Certification.mediator_id, Certification.granted_on, Certification.id)
    )
    for certification in session.scalars(query):
        held[certification.mediator_id].append(certification)
    return held


def _settled_periods(
    session: Session, low: int, high: int, today: date
) -> defaultdict[int, list[_Period]]:
    """Return each certification's listing periods settled by ``today``."""
    periods: defaultdict[int, list[_Period]] = defaultdict(list)
    query = (
        select(
            Invoice.certification_id, Invoice.period_start, Invoice.period_end, Invoice.settled_on
        )
        .join(Certification, Certification.id == Invoice.certification_id)
        .where(Certification.mediator_id.between(low, high), Invoice.settled_on <= today)
        .order_by(Invoice.certification_id, Invoice.period_start, Invoice.id)
    )
    for certification_id, start, end, settled_on in session.execute(query):
        periods[certification_id].append(_Period(start, end, settled_on))
    return periods


def _migration_columns(
    mediator: Row[Any],
    certification: Certification | None,
    periods: dict[int, list[_Period]],
    today: date,
) -> list[str]:
    """Return certificate_number .. revocation_reason of one row (IMPORT_COLUMNS order)."""
    created_on = min(local_date(mediator.created_at), today).isoformat()
    if certification is None:
        return ["", "", "", mediator.public_id, "", created_on, *[""] * 7]
    own = periods.get(certification.id, [])
    covered_by = certification.covered_by.certificate_number if certification.covered_by else ""
    return [
        certification.certificate_number,
        certification.granted_on.isoformat(),
        max(period.end for period in own).isoformat() if own else "",
        mediator.public_id,
        certification.certification_type,
        created_on,
        ";".join(f"{p.start}/{p.end}@{p.settled_on}" for p in own),
        covered_by,
        _iso(certification.suspended_on),
        _iso(certification.suspension_lifted_on),
        certification.suspension_reason or "",
        _iso(certification.revoked_on),
        certification.revocation_reason or "",
    ]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _export_rows(
    session: Session, batch: list[Row[Any]], today: date, grace: int
) -> list[list[str]]:
    """Return the CSV rows of one batch of mediators (consecutive ids, in id order)."""
    low, high = batch[0].id, batch[-1].id
    languages = _codes(session, MediatorLanguage, low, high)
    # Specialisations granted and live today.
    specialisations = _codes(
        session, SpecialisationGrant, low, high, SpecialisationGrant.live_on(today)
    )
    standings = _latest_standings(session, low, high, today, grace)
    return [
        [
            mediator.name,
            mediator.email,
            mediator.country or "",
            ";".join(languages[mediator.id]),
            ";".join(specialisations[mediator.id]),
            *_certification_columns(mediator, standings.get(mediator.id), today, grace),
        ]
        for mediator in batch
    ]


def _codes(
    session: Session,
    model: type[MediatorLanguage] | type[SpecialisationGrant],
    low: int,
    high: int,
    *conditions: ColumnElement[bool],
) -> defaultdict[int, list[str]]:
    codes: defaultdict[int, list[str]] = defaultdict(list)
    query = (
        select(model.mediator_id, model.code)
        .where(model.mediator_id.between(low, high), *conditions)
        .order_by(model.mediator_id, model.code)
    )
    for mediator_id, code in session.execute(query):
        codes[mediator_id].append(code)
    return codes


def _latest_standings(
    session: Session, low: int, high: int, today: date, grace: int
) -> dict[int, Row[Any]]:
    """Return the status row of each mediator's latest grant, for mediator ids low..high."""
    in_batch = Certification.mediator_id.between(low, high)
    first, last = session.execute(
        select(func.min(Certification.id), func.max(Certification.id)).where(in_batch)
    ).one()
    if first is None:
        return {}
    query = (
        status_rows(today, grace, ids=(first, last))
        .add_columns(Certification.certificate_number)
        .where(in_batch)
        .order_by(Certification.mediator_id, Certification.granted_on, Certification.id)
    )
    # Later grants come later, so each mediator keeps the last.
    return {row.mediator_id: row for row in session.execute(query)}


def _certification_columns(
    mediator: Row[Any], standing: Row[Any] | None, today: date, grace: int
) -> list[str]:
    """Return certificate_number .. status_since for one mediator."""
    if standing is None:
        joined = min(local_date(mediator.created_at), today)
        return ["", "", "", mediator.public_id, Status.APPLICANT.value, joined.isoformat()]
    covered = standing.covered_until
    return [
        standing.certificate_number,
        standing.granted_on.isoformat(),
        covered.isoformat() if covered else "",
        mediator.public_id,
        standing.status,
        since(standing, grace).isoformat(),
    ]
