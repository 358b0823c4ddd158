"""The organisation dashboard: where each mediator linked to the organisation's programs stands.

Two views of the same facts for one day:

* ``Facts``: one SQL query per purpose over every linked mediator: the bucket (from the
  ``status_rows`` of each one's latest grant), which steps to certification are done, the
  progress and the day the path last moved. The database counts the buckets, draws the chart,
  filters, sorts and cuts the page; nothing loads every mediator into Python.
* ``DashboardRow``: the full row of a mediator shown (the checklist items with their hints,
  the standing, the programs), computed in a fixed number of queries for a page of ids
  (``dashboard_rows``); the CSV export computes them a batch at a time as it streams.

``bucket_clause`` and ``profile_complete_clause`` state in SQL what ``bucket_of`` and the
checklist state in Python; the tests hold both to the same answers.
"""

import io
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    null,
    select,
    true,
)
from sqlalchemy.orm import Session, lazyload, selectinload

from registry import csvfiles
from registry.clock import registry_zone
from registry.digests.models import Digest
from registry.digests.queries import current_digests
from registry.i18n import _l
from registry.mediators.checklist import (
    ASSESSMENT_STEP,
    DIGEST_STEP,
    GRANT_STEP,
    PAYMENT_STEP,
    PROFILE_STEP,
    ChecklistItem,
    certification_prerequisites,
    certification_steps,
    profile_complete_clause,
)
from registry.mediators.models import Assessment, Certification, Mediator, ProgramLink, Status
from registry.mediators.names import fold_text
from registry.mediators.status import (
    Standing,
    applicant_standing,
    grace_days,
    standing_from_row,
    status_rows,
)
from registry.organisations.models import DashboardReminder, Organisation, Program
from registry.pagination import Page, paginate

# Keeps every IN list under the databases' parameter limits.
BATCH = 500


class Bucket(StrEnum):
    """Where a mediator stands, as the dashboard groups them."""

    NEARING_CERTIFICATION = "nearing_certification"
    CERTIFIED = "certified"
    NEARING_LAPSE = "nearing_lapse"
    IN_GRACE = "in_grace"
    STRUCK = "struck"
    SUSPENDED_OR_REVOKED = "suspended_or_revoked"

    @property
    def label(self) -> str:
        return str(BUCKET_LABELS[self])


BUCKET_LABELS = {
    Bucket.NEARING_CERTIFICATION: _l("Nearing certification"),
    Bucket.CERTIFIED: _l("Certified"),
    Bucket.NEARING_LAPSE: _l("Nearing lapse"),
    Bucket.IN_GRACE: _l("In grace"),
    Bucket.STRUCK: _l("Struck"),
    Bucket.SUSPENDED_OR_REVOKED: _l("Suspended or revoked"),
}

# The mediators an organisation may remind: those with something to do soon.
REMINDABLE = frozenset({Bucket.NEARING_CERTIFICATION, Bucket.NEARING_LAPSE, Bucket.IN_GRACE})

SORTS = {
    "name": _l("Name, A to Z"),
    "-name": _l("Name, Z to A"),
    "progress": _l("Progress, least first"),
    "-progress": _l("Progress, most first"),
    "stuck": _l("Stuck longest first"),
    "-stuck": _l("Moved most recently first"),
    "covered": _l("Covered until, soonest first"),
    "-covered": _l("Covered until, latest first"),
}


@dataclass(frozen=True)
class DashboardRow:
    """One mediator of the organisation, as of ``today``."""

    mediator: Mediator
    # The organisation's programs the mediator is linked to.
    programs: list[Program]
    # The first day the mediator was linked to one of them.
    linked_on: date
    standing: Standing
    bucket: Bucket
    steps: list[ChecklistItem]
    today: date

    @property
    def done(self) -> int:
        return sum(step.is_done for step in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def missing(self) -> list[ChecklistItem]:
        return [step for step in self.steps if not step.is_done]

    @property
    def stuck_since(self) -> date:
        """The day the path last moved: the latest dated step done, else the link date."""
        return max(
            (s.done_on for s in self.steps if s.is_done and s.done_on), default=self.linked_on
        )

    @property
    def stuck_days(self) -> int:
        return (self.today - self.stuck_since).days

    @property
    def is_listed(self) -> bool:
        """Whether the public profile shows the mediator as certified today."""
        return self.standing.status is Status.CERTIFIED


@dataclass(frozen=True)
class DashboardFilter:
    """What the dashboard is asked for; ``None`` means any."""

    bucket: Bucket | None = None
    program_id: int | None = None
    # The key (``step_key``) of a step the mediators still miss.
    step: str | None = None
    name: str | None = None
    sort: str = "name"


@dataclass(frozen=True)
class Bar:
    """One bar of the pipeline chart: ``count`` out of ``scale``."""

    label: str
    count: int
    scale: int
    kind: str

    @property
    def percent(self) -> float:
        return round(100 * self.count / self.scale, 1) if self.scale else 0.0


@dataclass(frozen=True)
class Dashboard:
    """The counts and chart of every bucket under the filters other than the bucket."""

    counts: dict[Bucket, int]
    in_scope: int
    # Every mediator linked to the organisation's programs, whatever the filters.
    linked: int
    # The chart: how many applicants have each step done, and how many stand in each bucket.
    steps: list[Bar]
    standing: list[Bar]

    def shown(self, bucket: Bucket | None) -> int:
        """Return how many mediators the list shows when it asks for ``bucket`` (or any)."""
        return self.in_scope if bucket is None else self.counts[bucket]


def step_labels(today: date) -> list[str]:
    """Return the labels of the steps to certification, in order, as every mediator has them."""
    blank = Mediator(name="", biography="", contact="", practice_areas="")
    applicant = Standing(Status.APPLICANT, today, None, None, None)
    items = certification_steps(certification_prerequisites(blank, today, None), applicant)
    return [item.label for item in items]


def step_key(label: str) -> str:
    """Return the URL form of a step label: "Assessment by a QAP" → "assessment-by-a-qap"."""
    return fold_text(label).replace(" ", "-")


def dashboard_rows(
    session: Session,
    organisation: Organisation,
    today: date,
    mediator_ids: Collection[int] | None = None,
) -> list[DashboardRow]:
    """Return a row for each mediator linked to the organisation's programs (or those given)."""
    links = _links(session, organisation, mediator_ids)
    if not links:
        return []
    # Those asked for are loaded by id: the links above already kept the organisation's own.
    mediators = _mediators(session, organisation, None if mediator_ids is None else list(links))
    grace, warning = grace_days(), current_app.config["LAPSE_WARNING_DAYS"]
    latest = {m.id: _latest_grant(m, today) for m in mediators}
    statuses = _statuses(session, [c.id for c in latest.values() if c], today, grace)
    digests = current_digests(session, [m.id for m in mediators], today)
    programs = {program.id: program for program in organisation.programs}
    rows = []
    for mediator in mediators:
        certification = latest[mediator.id]
        row = statuses.get(certification.id) if certification else None
        standing = (
            applicant_standing(mediator, today)
            if certification is None
            else standing_from_row(row, certification, today, grace)
        )
        prerequisites = certification_prerequisites(mediator, today, digests.get(mediator.id))
        mine = links[mediator.id]
        rows.append(
            DashboardRow(
                mediator=mediator,
                programs=[programs[program_id] for program_id, _ in mine],
                linked_on=min(linked_on for _, linked_on in mine),
                standing=standing,
                bucket=bucket_of(standing, today, warning),
                steps=certification_steps(prerequisites, standing),
                today=today,
            )
        )
    return rows


def _of_organisation(query: Select, organisation: Organisation) -> Select:
    """Limit a query over program links to the programs of ``organisation``."""
    return query.join(Program, Program.id == ProgramLink.program_id).where(
        Program.organisation_id == organisation.id
    )


def _links(
    session: Session, organisation: Organisation, mediator_ids: Collection[int] | None
) -> dict[int, list[tuple[int, date]]]:
    """Return each linked mediator's (program id, link date) pairs, by program id."""
    columns = select(ProgramLink.mediator_id, ProgramLink.program_id, ProgramLink.linked_on)
    query = _of_organisation(columns, organisation).order_by(ProgramLink.program_id)
    if mediator_ids is not None:
        query = query.where(ProgramLink.mediator_id.in_(list(mediator_ids)))
    links: defaultdict[int, list[tuple[int, date]]] = defaultdict(list)
    for mediator_id, program_id, linked_on in session.execute(query):
        links[mediator_id].append((program_id, linked_on))
    return links


def _mediators(
    session: Session, organisation: Organisation, mediator_ids: list[int] | None
) -> list[Mediator]:
    """Return the mediators with ``mediator_ids``, or every one linked to ``organisation``."""
    if mediator_ids is None:
        wanted = Mediator.id.in_(_of_organisation(select(ProgramLink.mediator_id), organisation))
    else:
        wanted = Mediator.id.in_(mediator_ids)
    query = (
        select(Mediator)
        .where(wanted)
        .options(
            selectinload(Mediator.assessments).options(lazyload(Assessment.program)),
        )
        .order_by(Mediator.id)
    )
    return list(session.scalars(query))


def _latest_grant(mediator: Mediator, today: date) -> Certification | None:
    granted = [c for c in mediator.certifications if c.granted_on <= today]
    return granted[-1] if granted else None


def _statuses(session: Session, ids: list[int], today: date, grace: int) -> dict[int, Any]:
    """Return the ``status_rows`` row of each certification in ``ids``."""
    found = {}
    for start in range(0, len(ids), BATCH):
        query = status_rows(today, grace, certification_ids=ids[start : start + BATCH])
        found.update((row.certification_id, row) for row in session.execute(query))
    return found


def bucket_of(standing: Standing, today: date, warning_days: int) -> Bucket:
    """Return the dashboard bucket of a standing on ``today``."""
    status = standing.status
    if status is Status.CERTIFIED:
        covered = standing.covered_until
        nearing = covered is not None and covered <= today + timedelta(days=warning_days)
        return Bucket.NEARING_LAPSE if nearing else Bucket.CERTIFIED
    return {
        Status.APPLICANT: Bucket.NEARING_CERTIFICATION,
        Status.LAPSED: Bucket.IN_GRACE,
        Status.STRUCK: Bucket.STRUCK,
        Status.SUSPENDED: Bucket.SUSPENDED_OR_REVOKED,
        Status.REVOKED: Bucket.SUSPENDED_OR_REVOKED,
    }[status]


def bucket_clause(
    status: ColumnElement[str], covered_until: ColumnElement[date], today: date, warning_days: int
) -> ColumnElement[str]:
    """Return ``bucket_of`` in SQL over a ``status_rows`` row (NULL status: no grant yet).

    The tests hold the two to the same answer for every mediator of their world.
    """
    nearing = today + timedelta(days=warning_days)
    return case(
        (status.is_(None), literal(Bucket.NEARING_CERTIFICATION.value)),
        (status == Status.APPLICANT.value, literal(Bucket.NEARING_CERTIFICATION.value)),
        (
            and_(status == Status.CERTIFIED.value, covered_until <= nearing),
            literal(Bucket.NEARING_LAPSE.value),
        ),
        (status == Status.CERTIFIED.value, literal(Bucket.CERTIFIED.value)),
        (status == Status.LAPSED.value, literal(Bucket.IN_GRACE.value)),
        (status == Status.STRUCK.value, literal(Bucket.STRUCK.value)),
        else_=literal(Bucket.SUSPENDED_OR_REVOKED.value),
    )


def _latest_day(*days: ColumnElement[date]) -> ColumnElement[date]:
    """Return the latest of ``days`` that is not NULL (NULL if all are), on either database."""
    first, *rest = days
    if not rest:
        return first
    return case(
        (and_(*(first >= func.coalesce(day, first) for day in rest)), first),
        else_=_latest_day(*rest),
    )


@dataclass(frozen=True)
class Facts:
    """What the dashboard counts, filters and sorts by, in SQL: one row per linked mediator.

    The same facts ``dashboard_rows`` computes in Python for the rows it shows; the database
    does it for all of them at once, so no page loads every mediator.
    """

    table: Subquery
    bucket: ColumnElement[str]
    # Whether each step of the path to certification is done, by label, in path order.
    done: dict[str, ColumnElement[bool]]
    done_count: ColumnElement[int]
    stuck_since: ColumnElement[date]
    # The name order: code-point order on both databases (PostgreSQL's locale would differ).
    name_key: ColumnElement[str]


def dashboard_facts(
    session: Session, organisation: Organisation, today: date, *, with_status: bool = True
) -> Facts:
    """Return the ``Facts`` of the mediators linked to ``organisation``'s programs on ``today``.

    The status of each one's latest grant costs the most (computed once per grant, from its
    payer's summary of settled invoices): with ``with_status=False`` it is left out (NULL),
    for a list that neither filters nor sorts by anything that depends on it
    (``needs_status``).
    """
    linked_on = func.min(ProgramLink.linked_on).label("linked_on")
    links = _of_organisation(select(ProgramLink.mediator_id, linked_on), organisation)
    links = links.group_by(ProgramLink.mediator_id).subquery("links")
    latest = (
        select(Certification.id)
        .where(Certification.mediator_id == links.c.mediator_id, Certification.granted_on <= today)
        .order_by(Certification.granted_on.desc(), Certification.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    grants = select(links, latest.label("certification_id")).cte("grants")
    assessed_on = select(func.max(Assessment.assessed_on)).where(
        Assessment.mediator_id == Mediator.id, Assessment.assessed_on <= today
    )
    digest_on = select(func.max(Digest.published_on)).where(
        Digest.mediator_id == Mediator.id, Digest.published_on <= today, Digest.valid_until >= today
    )
    table = (
        select(
            grants.c.mediator_id,
            grants.c.linked_on,
            grants.c.certification_id,
            Mediator.search_name,
            profile_complete_clause().label("profile_done"),
            assessed_on.scalar_subquery().label("assessed_on"),
            digest_on.scalar_subquery().label("digest_on"),
        )
        .select_from(grants)
        .join(Mediator, Mediator.id == grants.c.mediator_id)
    )
    if with_status:
        asked = select(grants.c.certification_id).where(grants.c.certification_id.is_not(None))
        standing = status_rows(today, grace_days(), certification_ids=asked).subquery("standing")
        columns = [standing.c.status, standing.c.covered_until, standing.c.granted_on]
        table = table.outerjoin(standing, standing.c.certification_id == grants.c.certification_id)
    else:
        columns = [
            null().label("status"),
            null().label("covered_until"),
            null().label("granted_on"),
        ]
    return _facts_of(session, table.add_columns(*columns).subquery("facts"), today)


def needs_status(wanted: DashboardFilter) -> bool:
    """Return whether the list ``wanted`` asks for depends on the status of the grants."""
    return (
        wanted.bucket is not None
        or wanted.sort.removeprefix("-") != "name"
        or wanted.step == step_key(PAYMENT_STEP)
    )


def _facts_of(session: Session, table: Subquery, today: date) -> Facts:
    c = table.c
    every_step = {
        PROFILE_STEP: c.profile_done == true(),
        ASSESSMENT_STEP: c.assessed_on.is_not(None),
        DIGEST_STEP: c.digest_on.is_not(None),
        GRANT_STEP: c.certification_id.is_not(None),
        PAYMENT_STEP: c.covered_until.is_not(None),
    }
    done = {label: every_step[label] for label in step_labels(today)}
    dated = [c.assessed_on, c.granted_on] + ([c.digest_on] if DIGEST_STEP in done else [])
    name_key = c.search_name
    if session.get_bind().dialect.name == "postgresql":
        name_key = name_key.collate("C")
    return Facts(
        table=table,
        bucket=bucket_clause(
            c.status, c.covered_until, today, current_app.config["LAPSE_WARNING_DAYS"]
        ),
        done=done,
        done_count=sum((case((step, 1), else_=0) for step in done.values()), literal(0)),
        stuck_since=func.coalesce(_latest_day(*dated), c.linked_on),
        name_key=name_key,
    )


def _in_scope(facts: Facts, wanted: DashboardFilter) -> list[ColumnElement[bool]]:
    """Return the conditions of every filter of ``wanted`` except the bucket."""
    mediator_id = facts.table.c.mediator_id
    where: list[ColumnElement[bool]] = []
    if wanted.program_id is not None:
        where.append(
            exists().where(
                ProgramLink.mediator_id == mediator_id,
                ProgramLink.program_id == wanted.program_id,
            )
        )
    if wanted.step:
        label = next(label for label in facts.done if step_key(label) == wanted.step)
        where.append(not_(facts.done[label]))
    for word in fold_text(wanted.name or "").split():
        where.append(facts.table.c.search_name.contains(word, autoescape=True))
    return where


def build_dashboard(
    session: Session, facts: Facts, wanted: DashboardFilter, organisation: Organisation
) -> Dashboard:
    """Return the bucket counts and the chart under every filter of ``wanted`` but the bucket.

    One pass over the facts, no grouping (a sort the databases would do for six groups): a
    conditional count per bucket, and per step how many applicants have it done.
    """
    applicant = facts.bucket == Bucket.NEARING_CERTIFICATION.value
    per_bucket = [_count_if(facts.bucket == bucket.value) for bucket in Bucket]
    per_step = [_count_if(and_(applicant, step)) for step in facts.done.values()]
    query = select(*per_bucket, *per_step).where(*_in_scope(facts, wanted))
    sums = [int(total or 0) for total in session.execute(query).one()]
    counts = dict(zip(Bucket, sums[: len(Bucket)], strict=True))
    applicants_done = sums[len(Bucket) :]
    in_scope = sum(counts.values())
    filtered = wanted.program_id is not None or wanted.step or wanted.name
    applicants = counts[Bucket.NEARING_CERTIFICATION]
    return Dashboard(
        counts=counts,
        in_scope=in_scope,
        linked=_linked_count(session, organisation) if filtered else in_scope,
        steps=[
            Bar(label, done, applicants, "step")
            for label, done in zip(facts.done, applicants_done, strict=True)
        ],
        standing=[
            Bar(bucket.label, counts[bucket], in_scope, bucket.value)
            for bucket in Bucket
            if bucket is not Bucket.NEARING_CERTIFICATION
        ],
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _linked_count(session: Session, organisation: Organisation) -> int:
    linked = _of_organisation(select(ProgramLink.mediator_id), organisation).distinct()
    return session.scalar(select(func.count()).select_from(linked.subquery())) or 0


def ordered_ids(facts: Facts, wanted: DashboardFilter) -> Select:
    """Select the ids of the mediators ``wanted`` asks for, in its order ("-" first: descending).

    Ties go by name; mediators without the value (no last covered day) come last either way.
    """
    where = _in_scope(facts, wanted)
    if wanted.bucket is not None:
        where.append(facts.bucket == wanted.bucket.value)
    c = facts.table.c
    by_name = [facts.name_key, c.mediator_id]
    field_name, descending = wanted.sort.removeprefix("-"), wanted.sort.startswith("-")
    if field_name == "name":
        order = [key.desc() for key in by_name] if descending else by_name
    else:
        value = {
            "progress": facts.done_count,
            "stuck": facts.stuck_since,
            "covered": c.covered_until,
        }[field_name]
        order = [value.is_(None), value.desc() if descending else value, *by_name]
    return select(c.mediator_id).where(*where).order_by(*order)


def dashboard_page(
    session: Session,
    organisation: Organisation,
    wanted: DashboardFilter,
    today: date,
    number: int,
    size: int,
) -> tuple[Dashboard, Page[DashboardRow]]:
    """Return the counts and chart, and page ``number`` of the rows ``wanted`` asks for."""
    facts = dashboard_facts(session, organisation, today)
    board = build_dashboard(session, facts, wanted, organisation)
    if not needs_status(wanted):
        facts = dashboard_facts(session, organisation, today, with_status=False)
    ids = paginate(
        session, ordered_ids(facts, wanted), number, size, total=board.shown(wanted.bucket)
    )
    rows = rows_in_order(session, organisation, today, ids.items)
    return board, Page(rows, ids.total, ids.number, ids.size)


def rows_in_order(
    session: Session, organisation: Organisation, today: date, mediator_ids: list[int]
) -> list[DashboardRow]:
    """Return the rows of ``mediator_ids``, in that order."""
    found = dashboard_rows(session, organisation, today, mediator_ids)
    rows = {row.mediator.id: row for row in found}
    return [rows[mediator_id] for mediator_id in mediator_ids if mediator_id in rows]


def export_rows(
    session: Session, organisation: Organisation, wanted: DashboardFilter, today: date
) -> Iterator[DashboardRow]:
    """Yield every row ``wanted`` asks for, in order, ``BATCH`` mediators at a time.

    The ids come through a server-side cursor (PostgreSQL) or the open SQLite statement, and
    each batch's rows are let go once yielded, so memory stays flat however many there are.
    """
    facts = dashboard_facts(session, organisation, today, with_status=needs_status(wanted))
    result = session.execute(ordered_ids(facts, wanted), execution_options={"yield_per": BATCH})
    for mediator_ids in result.scalars().partitions():
        yield from rows_in_order(session, organisation, today, list(mediator_ids))


def day_start(day: date) -> datetime:
    """Return the instant (UTC) the registry's calendar day ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=registry_zone()).astimezone(UTC)


def local_day(moment: datetime) -> date:
    """Return the registry's calendar day of the instant ``moment``."""
    return moment.astimezone(registry_zone()).date()


def recent_reminders(
    session: Session, organisation: Organisation, today: date, days: int
) -> dict[int, date]:
    """Return the day of each mediator's latest reminder by the organisation in the window.

    The window is the ``days`` calendar days ending ``today``: a reminder on one of them holds
    back the next one.
    """
    query = (
        select(DashboardReminder.mediator_id, func.max(DashboardReminder.sent_at))
        .where(
            DashboardReminder.organisation_id == organisation.id,
            DashboardReminder.sent_at >= day_start(today - timedelta(days=days - 1)),
        )
        .group_by(DashboardReminder.mediator_id)
    )
    return {mediator_id: local_day(sent_at) for mediator_id, sent_at in session.execute(query)}


def last_reminder_day(
    session: Session, organisation: Organisation, mediator: Mediator
) -> date | None:
    """Return the day the organisation last reminded ``mediator``, if ever."""
    sent_at = session.scalar(
        select(func.max(DashboardReminder.sent_at)).where(
            DashboardReminder.organisation_id == organisation.id,
            DashboardReminder.mediator_id == mediator.id,
        )
    )
    return local_day(sent_at) if sent_at else None


def last_day_number(session: Session, organisation: Organisation, day: date) -> int:
    """Return the number of the organisation's last reminder on ``day`` (0 if none)."""
    return (
        session.scalar(
            select(func.max(DashboardReminder.day_number)).where(
                DashboardReminder.organisation_id == organisation.id,
                DashboardReminder.sent_on == day,
            )
        )
        or 0
    )


CSV_COLUMNS = (
    "name",
    "public_id",
    "programs",
    "bucket",
    "status",
    "progress",
    "missing_steps",
    "stuck_since",
    "stuck_days",
    "covered_until",
    "grace_ends_on",
)


# A chunk of the CSV export is sent once it holds about this many characters.
CSV_CHUNK = 64 * 1024


def _csv_values(row: DashboardRow) -> tuple[object, ...]:
    standing = row.standing
    return (
        row.mediator.name,
        row.mediator.public_id,
        "; ".join(program.name for program in row.programs),
        row.bucket.label,
        standing.status.value,
        f"{row.done}/{row.total}",
        "; ".join(step.label for step in row.missing),
        row.stuck_since.isoformat(),
        row.stuck_days,
        standing.covered_until.isoformat() if standing.covered_until else "",
        standing.grace_ends_on.isoformat() if standing.grace_ends_on else "",
    )


def csv_chunks(rows: Iterable[DashboardRow], *, bom: bool = False) -> Iterator[str]:
    """Yield ``rows`` as CSV with a header row (after a UTF-8 BOM if ``bom``), in chunks of
    about ``CSV_CHUNK`` characters."""
    out = io.StringIO()
    writer = csvfiles.writer(out, bom=bom)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_csv_values(row))
        if out.tell() >= CSV_CHUNK:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
