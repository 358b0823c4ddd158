"""The organisation dashboard: where each mediator linked to the organisation's programs stands.

A row is computed from facts for one day, in a fixed number of queries however many mediators
the organisation has: its links, the mediators (certifications, languages and assessments
loaded in batches), the status of each one's latest grant (``status_rows``) and the current
digests. Filtering, counting and sorting then happen on the computed rows, because the bucket,
the progress and the missing steps exist only there.
"""

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import IO, Any

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, lazyload, selectinload

from registry import csvfiles
from registry.clock import registry_zone
from registry.digests.queries import current_digests
from registry.mediators.checklist import (
    ChecklistItem,
    certification_prerequisites,
    certification_steps,
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
        return BUCKET_LABELS[self]


BUCKET_LABELS = {
    Bucket.NEARING_CERTIFICATION: "Nearing certification",
    Bucket.CERTIFIED: "Certified",
    Bucket.NEARING_LAPSE: "Nearing lapse",
    Bucket.IN_GRACE: "In grace",
    Bucket.STRUCK: "Struck",
    Bucket.SUSPENDED_OR_REVOKED: "Suspended or revoked",
}

# The mediators an organisation may remind: those with something to do soon.
REMINDABLE = frozenset({Bucket.NEARING_CERTIFICATION, Bucket.NEARING_LAPSE, Bucket.IN_GRACE})

SORTS = {
    "name": "Name, A to Z",
    "-name": "Name, Z to A",
    "progress": "Progress, least first",
    "-progress": "Progress, most first",
    "stuck": "Stuck longest first",
    "-stuck": "Moved most recently first",
    "covered": "Covered until, soonest first",
    "-covered": "Covered until, latest first",
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
    """The rows asked for, and the counts and chart of every bucket under the other filters."""

    rows: list[DashboardRow]
    counts: dict[Bucket, int]
    in_scope: int
    # The chart: how many applicants have each step done, and how many stand in each bucket.
    steps: list[Bar]
    standing: list[Bar]


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
    mediators = _mediators(session, organisation, mediator_ids)
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
    session: Session, organisation: Organisation, mediator_ids: Collection[int] | None
) -> list[Mediator]:
    linked = _of_organisation(select(ProgramLink.mediator_id), organisation)
    query = (
        select(Mediator)
        .where(Mediator.id.in_(linked))
        .options(
            selectinload(Mediator.assessments).options(lazyload(Assessment.program)),
        )
        .order_by(Mediator.id)
    )
    if mediator_ids is not None:
        query = query.where(Mediator.id.in_(list(mediator_ids)))
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


def build_dashboard(rows: list[DashboardRow], wanted: DashboardFilter, today: date) -> Dashboard:
    """Return the rows ``wanted`` asks for, sorted, with the bucket counts and the chart."""
    scope = [row for row in rows if _matches(row, wanted)]
    counts = {bucket: 0 for bucket in Bucket}
    for row in scope:
        counts[row.bucket] += 1
    shown = [row for row in scope if wanted.bucket in (None, row.bucket)]
    return Dashboard(
        rows=sort_rows(shown, wanted.sort),
        counts=counts,
        in_scope=len(scope),
        steps=_step_bars(scope, step_labels(today)),
        standing=[
            Bar(bucket.label, counts[bucket], len(scope), bucket.value)
            for bucket in Bucket
            if bucket is not Bucket.NEARING_CERTIFICATION
        ],
    )


def _matches(row: DashboardRow, wanted: DashboardFilter) -> bool:
    """Return whether ``row`` passes every filter of ``wanted`` except the bucket."""
    if wanted.program_id is not None and all(p.id != wanted.program_id for p in row.programs):
        return False
    if wanted.step and all(step_key(step.label) != wanted.step for step in row.missing):
        return False
    words = fold_text(wanted.name or "").split()
    return all(word in row.mediator.search_name for word in words)


def _step_bars(scope: list[DashboardRow], labels: list[str]) -> list[Bar]:
    """Return, for each step, how many of the applicants in ``scope`` have it done."""
    applicants = [row for row in scope if row.bucket is Bucket.NEARING_CERTIFICATION]
    done: defaultdict[str, int] = defaultdict(int)
    for row in applicants:
        for step in row.steps:
            done[step.label] += step.is_done
    return [Bar(label, done[label], len(applicants), "step") for label in labels]


def _name_key(row: DashboardRow) -> tuple[str, int]:
    return fold_text(row.mediator.name), row.mediator.id


SORT_KEYS: dict[str, Callable[[DashboardRow], Any]] = {
    "progress": lambda row: row.done / row.total,
    "stuck": lambda row: row.stuck_since,
    "covered": lambda row: row.standing.covered_until,
}


def sort_rows(rows: list[DashboardRow], sort: str) -> list[DashboardRow]:
    """Return ``rows`` in the order ``sort`` names ("-" first: descending); ties go by name.

    Rows without the value (no last covered day) come last either way.
    """
    by_name = sorted(rows, key=_name_key)
    field_name, descending = sort.removeprefix("-"), sort.startswith("-")
    if field_name == "name":
        return by_name[::-1] if descending else by_name
    key = SORT_KEYS[field_name]
    present = [row for row in by_name if key(row) is not None]
    present.sort(key=key, reverse=descending)  # stable: equal values stay in name order
    return present + [row for row in by_name if key(row) is None]


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


def write_csv(rows: list[DashboardRow], out: IO[str], *, bom: bool = False) -> None:
    """Write ``rows`` to ``out`` as CSV with a header row (after a UTF-8 BOM if ``bom``)."""
    writer = csvfiles.writer(out, bom=bom)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        standing = row.standing
        values = (
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
        writer.writerow(values)
