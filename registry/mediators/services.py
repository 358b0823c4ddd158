"""Profiles and credentials: one function per change, each logged in the event log."""

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.accounts.services import normalise_email
from registry.clock import local_date
from registry.contributions.services import issue_invoice
from registry.events.services import record_event
from registry.formatting import format_day
from registry.i18n import _l
from registry.mediators.checklist import prerequisites_on
from registry.mediators.models import (
    Assessment,
    Certification,
    CertificationType,
    Mediator,
    NameChange,
    NameChangeStatus,
    ProgramLink,
    Qualification,
    Status,
)
from registry.mediators.status import certification_standing
from registry.mediators.transitions import Change, remember_status
from registry.organisations.models import ASSESSMENT_TYPES, Program, ProgramType
from registry.reference import COUNTRIES, LANGUAGES

# A new grant is possible only when the person holds no live certification.
REGRANTABLE = frozenset({Status.STRUCK, Status.REVOKED})
PROFILE_FIELDS = (
    "name",
    "country",
    "languages",
    "biography",
    "contact",
    "practice_areas",
)


class MediatorError(ValueError):
    """A profile or credential change that the rules do not allow."""


# A name change's status as a word in a sentence ("This name change is approved already.").
NAME_CHANGE_WORDS = {
    "requested": _l("requested"),
    "approved": _l("approved"),
    "refused": _l("refused"),
}


def _clean_profile(session: Session, values: dict[str, object]) -> dict[str, object]:
    """Validate profile values and return them normalised; raise MediatorError on bad input."""
    clean = dict(values)
    name = str(values.get("name") or "").strip()
    if not name:
        raise MediatorError(_("A name is required."))
    if len(name) > 200:
        raise MediatorError(_("The name is longer than 200 characters."))
    clean["name"] = name
    country = str(values.get("country") or "").strip().upper() or None
    if country is not None and country not in COUNTRIES:
        raise MediatorError(_("Unknown country code %(code)s.", code=repr(country)))
    clean["country"] = country
    languages = list(dict.fromkeys(values.get("languages") or []))  # type: ignore[call-overload]
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown:
        raise MediatorError(_("Unknown language code(s): %(codes)s.", codes=", ".join(unknown)))
    clean["languages"] = languages
    if values.get("specialisations"):
        raise MediatorError(
            _(
                "Specialisations are granted by the registry on a recorded basis and cannot be "
                "declared; describe your work under practice areas."
            )
        )
    clean.pop("specialisations", None)
    too_long = {
        "biography": _l("The biography is longer than %(limit)s characters."),
        "contact": _l("The contact is longer than %(limit)s characters."),
        "practice_areas": _l("The practice areas is longer than %(limit)s characters."),
    }
    for key, limit in (("biography", 5000), ("contact", 500), ("practice_areas", 500)):
        text = str(values.get(key) or "").strip()
        if len(text) > limit:
            raise MediatorError(str(too_long[key]) % {"limit": limit})
        clean[key] = text
    return clean


def create_profile(
    session: Session,
    *,
    name: str,
    email: str,
    now: datetime,
    actor: User | None,
    user: User | None = None,
    **values: object,
) -> Mediator:
    """Create a mediator profile (an applicant until certification is granted)."""
    email = normalise_email(email)
    if session.scalar(select(Mediator.id).where(Mediator.email == email)) is not None:
        raise MediatorError(
            _("A mediator profile with the e-mail address %(email)s exists already.", email=email)
        )
    clean = _clean_profile(session, {"name": name, **values})
    mediator = Mediator(email=email, user=user, created_at=now, updated_at=now, **clean)
    session.add(mediator)
    session.flush()
    record_event(
        session,
        action="mediator.created",
        subject_type="mediator",
        subject_id=mediator.public_id,
        now=now,
        actor=actor,
        data={"name": mediator.name},
    )
    return mediator


def _profile_values(mediator: Mediator) -> dict[str, object]:
    values = {key: getattr(mediator, key) for key in PROFILE_FIELDS}
    values["languages"] = sorted(mediator.languages)
    return values


def _holds_live_certification(session: Session, mediator: Mediator, today: date) -> bool:
    return any(
        certification_standing(session, c, today).status not in REGRANTABLE
        for c in mediator.latest_certifications()
    )


def _is_own_profile(mediator: Mediator, actor: User | None) -> bool:
    """Say whether ``actor`` is the mediator themself (as ``queries.profile_of`` finds them)."""
    if actor is None:
        return False
    if mediator.user_id is None:
        return mediator.email == actor.email
    return mediator.user_id == actor.id


def update_profile(
    session: Session,
    mediator: Mediator,
    *,
    now: datetime,
    actor: User,
    today: date | None = None,
    **values: object,
) -> list[str]:
    """Change profile fields; return the names of the fields that changed.

    The register vouches for a certified person's name, so when such a person renames
    themself the new name is only requested (``request_name_change``) and staff decide; the
    other fields change at once. A name staff set is recorded as an approved change.
    """
    before = _profile_values(mediator)
    clean = _clean_profile(session, {**before, **values})
    name = clean.pop("name")
    if name != mediator.name:
        today = today or local_date(now)
        if _is_own_profile(mediator, actor) and _holds_live_certification(session, mediator, today):
            request_name_change(session, mediator, name, now=now, actor=actor)
        else:
            _record_name_set(session, mediator, name, now=now, actor=actor)
    for key, value in clean.items():
        setattr(mediator, key, value)
    after = _profile_values(mediator)
    changed = [key for key in PROFILE_FIELDS if before[key] != after[key]]
    if changed:
        mediator.updated_at = now
        record_event(
            session,
            action="mediator.profile_changed",
            subject_type="mediator",
            subject_id=mediator.public_id,
            now=now,
            actor=actor,
            data={"fields": changed},
        )
    session.flush()
    return changed


def _log_name_change(
    session: Session, change: NameChange, action: str, now: datetime, actor: User | None
) -> None:
    session.flush()
    record_event(
        session,
        action=action,
        subject_type="mediator",
        subject_id=change.mediator.public_id,
        now=now,
        actor=actor,
        reason=change.reason or None,
        data={"from": change.old_name, "to": change.requested_name},
    )


def _record_name_set(
    session: Session, mediator: Mediator, name: str, *, now: datetime, actor: User | None
) -> None:
    """Set the name at once; staff setting it record an approved change (the history)."""
    if not _is_own_profile(mediator, actor):
        pending = mediator.pending_name_change
        if pending is not None:
            pending.status, pending.decided_at = NameChangeStatus.REFUSED.value, now
            pending.decided_by_id = actor.id if actor else None
            pending.reason = f"Superseded: the registry set the name to {name}."
            _log_name_change(session, pending, "mediator.name_change_refused", now, actor)
        mediator.name_changes.append(
            NameChange(
                old_name=mediator.name,
                requested_name=name,
                requested_at=now,
                requested_by_id=actor.id if actor else None,
                status=NameChangeStatus.APPROVED.value,
                decided_at=now,
                decided_by_id=actor.id if actor else None,
            )
        )
    mediator.name = name


def request_name_change(
    session: Session, mediator: Mediator, name: str, *, now: datetime, actor: User
) -> NameChange | None:
    """Ask the registry to approve ``name``; one open request at a time."""
    pending = mediator.pending_name_change
    if pending is not None:
        if pending.requested_name == name:
            return pending
        raise MediatorError(
            _(
                "Your change of name to %(name)s awaits the registry's approval; "
                "ask for another name once it is decided.",
                name=pending.requested_name,
            )
        )
    change = NameChange(
        old_name=mediator.name,
        requested_name=name,
        requested_at=now,
        requested_by_id=actor.id,
        status=NameChangeStatus.REQUESTED.value,
    )
    mediator.name_changes.append(change)
    _log_name_change(session, change, "mediator.name_change_requested", now, actor)
    return change


def _decide(change: NameChange, status: NameChangeStatus, now: datetime, actor: User) -> None:
    if change.status != NameChangeStatus.REQUESTED:
        raise MediatorError(
            _(
                "This name change is %(status)s already.",
                status=NAME_CHANGE_WORDS.get(change.status, change.status),
            )
        )
    if _is_own_profile(change.mediator, actor):
        raise MediatorError(_("Another member of staff decides on your own name change."))
    change.status, change.decided_at, change.decided_by_id = status.value, now, actor.id


def approve_name_change(
    session: Session, change: NameChange, *, note: str = "", now: datetime, actor: User
) -> None:
    """Approve a requested name: the profile, Verify and the search index take it."""
    _decide(change, NameChangeStatus.APPROVED, now, actor)
    change.reason = note.strip()
    change.mediator.name = change.requested_name
    change.mediator.updated_at = now
    _log_name_change(session, change, "mediator.name_change_approved", now, actor)


def refuse_name_change(
    session: Session, change: NameChange, *, reason: str, now: datetime, actor: User
) -> None:
    """Refuse a requested name with a reason the mediator is shown; the name stays."""
    if not reason.strip():
        raise MediatorError(_("A reason is required; the mediator is shown it."))
    _decide(change, NameChangeStatus.REFUSED, now, actor)
    change.reason = reason.strip()
    _log_name_change(session, change, "mediator.name_change_refused", now, actor)


def next_certificate_number(session: Session, year: int) -> str:
    """Return the next free certificate number of ``year`` ("MR-2026-000042")."""
    prefix = f"MR-{year}-"
    last = session.scalar(
        select(func.max(Certification.certificate_number)).where(
            Certification.certificate_number.like(f"{prefix}%")
        )
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:06d}"


def _check_number(session: Session, number: str) -> str:
    number = number.strip().upper()
    if not number or len(number) > 32 or not all(c.isalnum() or c in "-/." for c in number):
        raise MediatorError(
            _("A certificate number is 1 to 32 letters, digits, dashes, dots or slashes.")
        )
    if session.scalar(select(Certification.id).where(Certification.certificate_number == number)):
        raise MediatorError(
            _(
                "Certificate number %(number)s is in use already; numbers are never reused.",
                number=number,
            )
        )
    return number


def _payer_for(
    session: Session, mediator: Mediator, certification_type: CertificationType, on: date
) -> Certification | None:
    """Check that a grant of ``certification_type`` on ``on`` is possible; return its payer.

    A new grant of a type needs the previous one of that type struck or revoked. A grant made
    while the person holds the other type is covered by that one's listing contribution (one
    per person), so the other must be certified that day; otherwise it is invoiced itself.
    """
    payer = None
    for current in mediator.latest_certifications():
        if current.granted_on > on:
            raise MediatorError(_("A later grant exists already; grants go forward in time."))
        status = certification_standing(session, current, on).status
        if status in REGRANTABLE:
            continue
        if current.certification_type == certification_type.value:
            raise MediatorError(
                f"{mediator.name} holds certificate {current.certificate_number} "
                f"({status.value}); a new grant is possible only after striking or revocation."
            )
        if status is not Status.CERTIFIED:
            raise MediatorError(
                f"{mediator.name}'s certificate {current.certificate_number} is {status.value}: "
                "one listing contribution covers both certifications, so it must be certified "
                "on the day of the new grant."
            )
        payer = current.covered_by or current
    return payer


def grant_certification(
    session: Session,
    mediator: Mediator,
    *,
    certification_type: CertificationType,
    granted_on: date,
    today: date,
    now: datetime,
    actor: User | None,
    certificate_number: str | None = None,
    check_prerequisites: bool = True,
) -> Certification:
    """Grant certification, invoice its first listing period (unless covered), and log it."""
    if granted_on > today:
        raise MediatorError(_("A grant cannot be dated in the future."))
    if check_prerequisites:
        missing = [i.text for i in prerequisites_on(session, mediator, granted_on) if not i.is_done]
        if missing:
            raise MediatorError(
                _("Not yet eligible: %(missing)s missing.", missing=", ".join(missing).lower())
            )
    payer = _payer_for(session, mediator, certification_type, granted_on)
    number = _check_number(
        session, certificate_number or next_certificate_number(session, granted_on.year)
    )
    certification = Certification(
        mediator=mediator,
        certificate_number=number,
        certification_type=certification_type.value,
        granted_on=granted_on,
        granted_by=actor,
        recorded_status=Status.APPLICANT.value,
        recorded_since=granted_on,
        covered_by=payer,
    )
    session.add(certification)
    session.flush()
    if payer is None:
        issue_invoice(session, certification, period_start=granted_on, today=today, now=now)
    change = remember_status(session, certification, today)
    record_event(
        session,
        action="certification.granted",
        subject_type="certification",
        subject_id=number,
        now=now,
        actor=actor,
        data={
            "mediator": mediator.public_id,
            "type": certification_type.value,
            "granted_on": granted_on.isoformat(),
            "covered_by": payer.certificate_number if payer else None,
            **change.as_data(),
        },
    )
    return certification


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise MediatorError(_("A reason is required; it is shown on the public profile."))
    return reason.strip()


def _check_action_date(certification: Certification, on: date, today: date) -> None:
    if on > today:
        raise MediatorError(_("The date cannot be in the future."))
    if on < certification.granted_on:
        raise MediatorError(
            _("The date is before the grant (%(day)s).", day=format_day(certification.granted_on))
        )


def _record_conduct(
    session: Session,
    certification: Certification,
    action: str,
    *,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change:
    """Remember the status a conduct change leads to and log the change."""
    change = remember_status(session, certification, today)
    record_event(
        session,
        action=action,
        subject_type="certification",
        subject_id=certification.certificate_number,
        now=now,
        actor=actor,
        reason=reason,
        data={"mediator": certification.mediator.public_id, **change.as_data()},
    )
    return change


def suspend_certification(
    session: Session,
    certification: Certification,
    *,
    on: date,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change:
    """Suspend a certification from ``on`` (a conduct outcome), with a public reason."""
    reason = _require_reason(reason)
    _check_action_date(certification, on, today)
    status = certification_standing(session, certification, on).status
    if status not in {Status.CERTIFIED, Status.LAPSED}:
        raise MediatorError(
            _(
                "Only a certified or lapsed certification can be suspended, not %(status)s.",
                status=status.word,
            )
        )
    if certification.suspended_on is not None:
        raise MediatorError(_("This certification was suspended before; revoke it instead."))
    certification.suspended_on, certification.suspension_reason = on, reason
    return _record_conduct(
        session,
        certification,
        "certification.suspended",
        reason=reason,
        today=today,
        now=now,
        actor=actor,
    )


def lift_suspension(
    session: Session,
    certification: Certification,
    *,
    on: date,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change:
    """End a suspension from ``on``; the status then follows the listing contributions."""
    reason = _require_reason(reason)
    _check_action_date(certification, on, today)
    suspended_on = certification.suspended_on
    if suspended_on is None or certification.suspension_lifted_on is not None:
        raise MediatorError(_("This certification is not suspended."))
    if on < suspended_on:
        raise MediatorError(_("A suspension cannot end before the day it began."))
    certification.suspension_lifted_on = on
    return _record_conduct(
        session,
        certification,
        "certification.suspension_lifted",
        reason=reason,
        today=today,
        now=now,
        actor=actor,
    )


def revoke_certification(
    session: Session,
    certification: Certification,
    *,
    on: date,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change:
    """Revoke a certification from ``on`` (a conduct outcome), with a public reason."""
    reason = _require_reason(reason)
    _check_action_date(certification, on, today)
    status = certification_standing(session, certification, on).status
    if status in REGRANTABLE:
        raise MediatorError(_("This certification is %(status)s already.", status=status.word))
    certification.revoked_on, certification.revocation_reason = on, reason
    return _record_conduct(
        session,
        certification,
        "certification.revoked",
        reason=reason,
        today=today,
        now=now,
        actor=actor,
    )


def _program(session: Session, program_id: int, types: frozenset[ProgramType]) -> Program:
    program = session.get(Program, program_id)
    if (
        program is None
        or not program.is_recognised
        or ProgramType(program.program_type) not in types
    ):
        kinds = ", ".join(sorted(types))
        raise MediatorError(_("Choose a recognised program of type %(types)s.", types=kinds))
    return program


def record_assessment(
    session: Session,
    mediator: Mediator,
    *,
    program_id: int,
    assessed_on: date,
    today: date,
    now: datetime,
    actor: User,
) -> Assessment:
    """Record a successful assessment of ``mediator`` by an assessment program (a QAP)."""
    program = _program(session, program_id, ASSESSMENT_TYPES)
    if assessed_on > today:
        raise MediatorError(_("An assessment cannot be dated in the future."))
    if any(
        a.program_id == program.id and a.assessed_on == assessed_on for a in mediator.assessments
    ):
        raise MediatorError(_("This assessment is recorded already."))
    assessment = Assessment(
        mediator=mediator,
        program=program,
        assessed_on=assessed_on,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(assessment)
    _ensure_program_link(session, mediator, program, on=assessed_on, actor=actor)
    _log_record(
        session,
        mediator,
        "mediator.assessment_recorded",
        now,
        actor,
        on=assessed_on,
        program=program.title,
    )
    return assessment


def record_qualification(
    session: Session,
    mediator: Mediator,
    *,
    program_id: int,
    completed_on: date,
    today: date,
    now: datetime,
    actor: User,
) -> Qualification:
    """Record that ``mediator`` completed a recognised training program ("Qualified")."""
    program = _program(session, program_id, frozenset({ProgramType.CMTP}))
    if completed_on > today:
        raise MediatorError(_("Training cannot be completed in the future."))
    if any(q.program_id == program.id for q in mediator.qualifications):
        raise MediatorError(_("This training is recorded already."))
    qualification = Qualification(
        mediator=mediator,
        program=program,
        completed_on=completed_on,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(qualification)
    _ensure_program_link(session, mediator, program, on=completed_on, actor=actor)
    _log_record(
        session,
        mediator,
        "mediator.training_recorded",
        now,
        actor,
        on=completed_on,
        program=program.title,
    )
    return qualification


def _ensure_program_link(
    session: Session, mediator: Mediator, program: Program, *, on: date, actor: User
) -> None:
    """Link ``mediator`` to ``program`` (its organisation's dashboard lists them) unless linked."""
    session.flush()
    if session.get(ProgramLink, (program.id, mediator.id)) is None:
        session.add(
            ProgramLink(program=program, mediator=mediator, linked_on=on, linked_by_id=actor.id)
        )


def _log_record(
    session: Session,
    mediator: Mediator,
    action: str,
    now: datetime,
    actor: User,
    *,
    on: date,
    **data: str,
) -> None:
    session.flush()
    record_event(
        session,
        action=action,
        subject_type="mediator",
        subject_id=mediator.public_id,
        now=now,
        actor=actor,
        data={"on": on.isoformat(), **data},
    )
