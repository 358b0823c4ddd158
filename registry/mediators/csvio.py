"""Mediators as CSV: the import and export of the public contract (product brief).

Import is all or nothing. ``import_mediators`` reads and checks the whole file first and
reports every problem with its physical line (the header is line 1). Only a clean file is
written, with bulk inserts in batches; each new certification's ``recorded_status`` is then set
from the computed status, so the daily job does not log imported statuses as transitions.

Specialisations are credentials the registry grants: the column is imported only when the
caller says the source registry granted them (``specialisations_are_granted``), as grants whose
basis is the import; otherwise a row that has any is refused. Export writes the grants live on
the day of the export.

Export streams: mediators are read in keyset-paginated batches of ``EXPORT_BATCH`` ids, with
the languages, specialisations and status of that batch only, so memory stays constant. Cells
that a spreadsheet would run as a formula are written as text (``registry.csvfiles``), and the
import reads them back as they were.
"""

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import IO, Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, Row, func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry import csvfiles
from registry.accounts.models import User
from registry.accounts.services import normalise_email
from registry.clock import local_date
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
)
from registry.mediators.names import search_form
from registry.mediators.status import grace_days, since, status_rows
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
EXPORT_COLUMNS = (*COLUMNS, "public_id", "status", "status_since")
MAX_NAME_LENGTH = 200
MAX_NUMBER_LENGTH = 32
# Rows per bulk insert on import, values per IN (...) lookup, mediators per export batch.
IMPORT_BATCH = 1_000
LOOKUP_CHUNK = 500
EXPORT_BATCH = 2_000
# Applicants last: "Imported 120 mediators: 80 certified, 40 applicants."
SUMMARY_ORDER = (*(status for status in Status if status is not Status.APPLICANT), Status.APPLICANT)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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
class _Row:
    """One checked line of the file, ready to be written."""

    line: int
    name: str
    email: str
    country: str
    languages: list[str]
    specialisations: list[str]  # codes
    certificate_number: str | None
    certified_on: date | None
    paid_until: date | None


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
    rows = _checked_rows(session, stream, today, specialisations_are_granted)
    basis = f"Imported as granted from {source} on {today.isoformat()}."
    statuses = _create(session, rows, today=today, now=now, actor=actor, basis=basis)
    summary = ImportSummary(dict(statuses))
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
            "specialisations_granted": sum(len(row.specialisations) for row in rows),
        },
    )
    session.flush()
    return summary


def _checked_rows(
    session: Session, stream: IO[bytes] | IO[str], today: date, specialisations_are_granted: bool
) -> list[_Row]:
    errors: list[tuple[int, str]] = []
    checker = _RowChecker(session, today, errors, specialisations_are_granted)
    rows = [
        row for line, values in _records(stream, errors) if (row := checker.check(line, values))
    ]
    checker.check_database(session)
    if errors:
        raise ImportFailed(errors)
    return rows


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
    """Yield (first physical line, values by column) for each non-blank row."""
    reader = csv.reader(_lines(stream, errors), strict=True)
    try:
        header = _header(next(reader, None), errors)
        if header is None:
            return
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                errors.append((start, f"expected {len(header)} fields, found {len(cells)}"))
                continue
            # A file this registry exported marks formula-like cells as text: unmark them.
            yield start, dict(zip(header, map(csvfiles.restore, cells), strict=True))
    except csv.Error as error:
        errors.append((reader.line_num, f"the CSV is malformed: {error}"))


def _header(cells: list[str] | None, errors: list[tuple[int, str]]) -> list[str] | None:
    """Return the header's column names, or None after reporting why it is wrong."""
    expected = ",".join(COLUMNS)
    if cells is None:
        errors.append((1, f"the file is empty; the first line must be the header {expected}"))
        return None
    names = [cell.strip().lower() for cell in cells]
    missing = [column for column in COLUMNS if column not in names]
    extra = [name for name in names if name not in COLUMNS]
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
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise _Bad(f"email {email!r} is not a valid e-mail address: {error}") from None
    return email


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


def _certificate_number(value: str) -> str | None:
    number = value.strip().upper()
    if not number:
        return None
    if len(number) > MAX_NUMBER_LENGTH or not all(c.isalnum() or c in "-/." for c in number):
        raise _Bad(
            f"certificate_number {number!r} is not 1 to {MAX_NUMBER_LENGTH} letters, digits, "
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


class _RowChecker:
    """Check rows one at a time, remembering the e-mails and numbers earlier rows used."""

    def __init__(
        self,
        session: Session,
        today: date,
        errors: list[tuple[int, str]],
        specialisations_are_granted: bool,
    ) -> None:
        self.today, self.errors = today, errors
        self.specialisations_are_granted = specialisations_are_granted
        self.specialisations = {
            key.casefold(): code
            for code, name in session.execute(select(Specialisation.code, Specialisation.name))
            for key in (code, name)
        }
        # The first line on which each e-mail address and certificate number appears.
        self.emails: dict[str, int] = {}
        self.numbers: dict[str, int] = {}
        self.parsers: dict[str, Callable[[str], Any]] = {
            "name": _name,
            "email": _email,
            "country": _country,
            "languages": _languages,
            "specialisations": self._specialisations,
            "certificate_number": _certificate_number,
            "certified_on": partial(_date, "certified_on"),
            "paid_until": partial(_date, "paid_until"),
        }

    def check(self, line: int, values: dict[str, str]) -> _Row | None:
        """Return the row's clean values, or None after reporting its problems."""
        clean: dict[str, Any] = {}
        problems = []
        for column, parse in self.parsers.items():
            try:
                clean[column] = parse(values[column])
            except _Bad as bad:
                problems.append(str(bad))
        problems += _certification_problems(values, clean, self.today)
        if clean.get("specialisations") and not clean.get("certified_on"):
            problems.append("specialisations need certified_on; an applicant holds none")
        problems += self._repeats(line, clean)
        self.errors.extend((line, problem) for problem in problems)
        return None if problems else _Row(line=line, **clean)

    def _specialisations(self, value: str) -> list[str]:
        if _items(value) and not self.specialisations_are_granted:
            raise _Bad(
                "specialisations are credentials the registry grants; import them only from "
                "a registry that granted them, with --specialisations-are-granted"
            )
        codes = {item: self.specialisations.get(item.casefold()) for item in _items(value)}
        unknown = [item for item, code in codes.items() if code is None]
        if unknown:
            raise _Bad(f"unknown specialisation(s): {', '.join(unknown)}")
        return list(dict.fromkeys(code for code in codes.values() if code))

    def _repeats(self, line: int, clean: dict[str, Any]) -> list[str]:
        problems = []
        for value, seen, label in (
            (clean.get("email"), self.emails, "e-mail address"),
            (clean.get("certificate_number"), self.numbers, "certificate number"),
        ):
            if value is not None and value in seen:
                problems.append(f"{label} {value} is also on line {seen[value]}")
            elif value is not None:
                seen[value] = line
        return problems

    def check_database(self, session: Session) -> None:
        """Report e-mail addresses and certificate numbers the database holds already."""
        for email in _existing(session, Mediator.email, self.emails):
            self.errors.append(
                (self.emails[email], f"a mediator profile with the e-mail {email} exists already")
            )
        for number in _existing(session, Certification.certificate_number, self.numbers):
            self.errors.append(
                (
                    self.numbers[number],
                    f"certificate number {number} is in use already; numbers are never reused",
                )
            )


def _existing(
    session: Session, column: InstrumentedAttribute[str], values: Iterable[str]
) -> list[str]:
    """Return which of ``values`` the column holds, asking in chunks."""
    wanted, found = list(values), []
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        found += session.scalars(select(column).where(column.in_(chunk))).all()
    return found


def _create(
    session: Session,
    rows: list[_Row],
    *,
    today: date,
    now: datetime,
    actor: User | None,
    basis: str,
) -> Counter[str]:
    """Write the checked rows in batches; return how many mediators are in each status."""
    currencies = {rate.year: rate.currency for rate in session.scalars(select(FeeRate))}
    grace = grace_days()
    statuses: Counter[str] = Counter()
    for start in range(0, len(rows), IMPORT_BATCH):
        batch = rows[start : start + IMPORT_BATCH]
        mediator_ids = _insert_profiles(session, batch, now)
        granted = [
            (row, id_) for row, id_ in zip(batch, mediator_ids, strict=True) if row.certified_on
        ]
        certification_ids = _insert_grants(session, granted, today, actor, currencies)
        _insert_specialisations(session, granted, actor, now, basis)
        statuses.update(_remember_statuses(session, certification_ids, today, grace))
        # Bulk inserts bypass the session events that keep the status lists in step too.
        update_status_bits(session, certification_ids)
        statuses[Status.APPLICANT.value] += len(batch) - len(granted)
        # Bulk inserts bypass the session events that keep the search index in step.
        refresh_listings(session, [id_ for _row, id_ in granted], today)
    return statuses


def _insert_profiles(session: Session, batch: list[_Row], now: datetime) -> list[int]:
    """Insert the profiles with their languages; return their ids."""
    profiles = [
        {
            "name": row.name,
            # Bulk inserts skip the model's name validator, which keeps the search form.
            "search_name": search_form(row.name),
            "email": row.email,
            "country": row.country,
            "created_at": now,
            "updated_at": now,
        }
        for row in batch
    ]
    returning = insert(Mediator).returning(Mediator.id, sort_by_parameter_order=True)
    ids = list(session.scalars(returning, profiles))
    languages = [
        {"mediator_id": id_, "code": code}
        for row, id_ in zip(batch, ids, strict=True)
        for code in row.languages
    ]
    if languages:
        session.execute(insert(MediatorLanguage), languages)
    return ids


def _insert_specialisations(
    session: Session,
    granted: list[tuple[_Row, int]],
    actor: User | None,
    now: datetime,
    basis: str,
) -> None:
    """Insert the specialisations of certified rows as grants from their certification day."""
    grants = [
        {
            "mediator_id": mediator_id,
            "code": code,
            "granted_on": row.certified_on,
            "basis": basis,
            "granted_by_id": actor.id if actor else None,
            "granted_at": now,
        }
        for row, mediator_id in granted
        for code in row.specialisations
    ]
    if grants:
        session.execute(insert(SpecialisationGrant), grants)


def _insert_grants(
    session: Session,
    granted: list[tuple[_Row, int]],
    today: date,
    actor: User | None,
    currencies: dict[int, str],
) -> list[int]:
    """Insert the certifications and their paid periods; return the certification ids."""
    if not granted:
        return []
    grants = [
        {
            "mediator_id": mediator_id,
            "certificate_number": row.certificate_number,
            "certification_type": CertificationType.MEDIATOR.value,
            "granted_on": row.certified_on,
            "granted_by_id": actor.id if actor else None,
            # Set from the computed status right after (``_remember_statuses``).
            "recorded_status": Status.APPLICANT.value,
            "recorded_since": row.certified_on,
        }
        for row, mediator_id in granted
    ]
    returning = insert(Certification).returning(Certification.id, sort_by_parameter_order=True)
    ids = list(session.scalars(returning, grants))
    invoices = [
        _paid_period(row, id_, today, currencies)
        for (row, _), id_ in zip(granted, ids, strict=True)
        if row.paid_until
    ]
    if invoices:
        session.execute(insert(Invoice), invoices)
    return ids


def _paid_period(
    row: _Row, certification_id: int, today: date, currencies: dict[int, str]
) -> dict[str, Any]:
    """Return the invoice of a period paid before the registry kept the books.

    It is for zero and settled from the grant, so the period counts as covered throughout.
    """
    return {
        "certification_id": certification_id,
        "period_start": row.certified_on,
        "period_end": row.paid_until,
        "amount_minor": 0,
        "currency": currencies.get(row.certified_on.year, "EUR"),
        "tier": Tier.FULL.value,
        "issued_on": today,
        "settled_on": row.certified_on,
    }


def _remember_statuses(session: Session, ids: list[int], today: date, grace: int) -> Counter[str]:
    """Record each new certification's status for ``today``; return the counts by status."""
    if not ids:
        return Counter()
    wanted = set(ids)
    rows = [
        row
        for row in session.execute(status_rows(today, grace, ids=(min(ids), max(ids))))
        # The range may hold grants that someone else made meanwhile.
        if row.certification_id in wanted
    ]
    session.execute(
        update(Certification),
        [
            {
                "id": row.certification_id,
                "recorded_status": row.status,
                "recorded_since": since(row, grace),
            }
            for row in rows
        ],
    )
    return Counter(row.status for row in rows)


_PAGE = select(
    Mediator.id,
    Mediator.public_id,
    Mediator.name,
    Mediator.email,
    Mediator.country,
    Mediator.created_at,
).order_by(Mediator.id)


def export_mediators(
    session: Session, out: IO[str], *, today: date, for_import: bool = False
) -> int:
    """Write every mediator to ``out`` as CSV, batch by batch; return how many were written.

    ``for_import`` writes only the import columns, so the file imports into another registry.
    """
    writer = csvfiles.writer(out)
    columns = COLUMNS if for_import else EXPORT_COLUMNS
    writer.writerow(columns)
    grace, count, last_id = grace_days(), 0, 0
    while batch := session.execute(_PAGE.where(Mediator.id > last_id).limit(EXPORT_BATCH)).all():
        rows = _export_rows(session, batch, today, grace)
        writer.writerows(row[: len(columns)] for row in rows)
        count, last_id = count + len(batch), batch[-1].id
    return count


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
