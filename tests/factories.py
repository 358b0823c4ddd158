"""Test data builders."""

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.accounts.services import create_user, find_user
from registry.contributions.models import Invoice
from registry.contributions.services import issue_invoice, record_payment, set_fee_rate
from registry.database import utcnow
from registry.digests.models import Digest
from registry.mediators.models import (
    Certification,
    CertificationType,
    Mediator,
    SpecialisationGrant,
)
from registry.mediators.services import create_profile, grant_certification
from registry.mediators.specialisations import grant_specialisation
from registry.organisations.models import Organisation, Program

_COUNT = select(func.count(Mediator.id))

PASSWORD = "correct horse battery"


def make_user(
    session: Session,
    *,
    email: str = "person@example.org",
    name: str = "Pat Person",
    roles: Iterable[Role] = (Role.MEDIATOR,),
    password: str = PASSWORD,
) -> User:
    user = create_user(
        session, email=email, name=name, password=password, roles=roles, now=utcnow()
    )
    session.flush()
    return user


LONG_BIOGRAPHY = (
    "Mediator in commercial and cross-border disputes for fifteen years, trained in "
    "facilitative and evaluative styles."
)


def make_organisation(
    session: Session,
    *,
    name: str = "Mediation Academy",
    country: str = "NL",
    account_type: str = "qap3",
) -> Organisation:
    organisation = Organisation(
        name=name, head_office_country=country, account_type=account_type, created_at=utcnow()
    )
    session.add(organisation)
    session.flush()
    return organisation


def make_program(
    session: Session,
    *,
    program_type: str = "QAP",
    organisation: Organisation | None = None,
    recognised_on: date = date(2020, 1, 1),
) -> Program:
    organisation = organisation or make_organisation(session, name=f"Org for {program_type}")
    program = Program(
        organisation=organisation,
        program_type=program_type,
        name=f"{program_type} program",
        recognised_on=recognised_on,
    )
    session.add(program)
    session.flush()
    return program


def set_fees(
    session: Session,
    *,
    years: Iterable[int] = range(2018, 2032),
    amount: int = 15000,
    currency: str = "EUR",
) -> None:
    """Give every year in ``years`` the same full fee."""
    admin = staff_user(session)
    for year in years:
        set_fee_rate(
            session, year=year, amount_minor=amount, currency=currency, actor=admin, now=utcnow()
        )


def staff_user(session: Session) -> User:
    """Return the shared support-and-administrator account of a test, creating it once."""
    existing = find_user(session, "staff@example.org")
    return existing or make_user(
        session,
        email="staff@example.org",
        name="Stella Staff",
        roles=[Role.SUPPORT, Role.ADMINISTRATOR],
    )


def make_mediator(
    session: Session,
    *,
    name: str = "Zoë Müller",
    email: str | None = None,
    country: str = "NL",
    complete: bool = True,
    user: User | None = None,
) -> Mediator:
    extra: dict[str, object] = {}
    if complete:
        extra = {
            "languages": ["en", "nl"],
            "biography": LONG_BIOGRAPHY,
            "contact": "https://mediation.example",
            "practice_areas": "Commercial, cross-border",
        }
    return create_profile(
        session,
        name=name,
        email=email or f"{name.split()[0].lower()}.{session.scalar(_COUNT) or 0}@example.org",
        country=country,
        now=utcnow(),
        actor=None,
        user=user,
        **extra,
    )


def grant(
    session: Session,
    mediator: Mediator,
    *,
    on: date,
    paid: bool = True,
    number: str | None = None,
) -> Certification:
    """Grant certification on ``on`` without the prerequisite checks; pay the first period."""
    certification = grant_certification(
        session,
        mediator,
        certification_type=CertificationType.MEDIATOR,
        granted_on=on,
        today=on,
        now=utcnow(),
        actor=staff_user(session),
        certificate_number=number,
        check_prerequisites=False,
    )
    if paid:
        pay(session, certification, on=on)
    return certification


def specialise(
    session: Session,
    mediator: Mediator,
    code: str,
    *,
    on: date,
    valid_until: date | None = None,
    today: date | None = None,
) -> SpecialisationGrant:
    """Grant the specialisation ``code`` directly (a written basis) on ``on``."""
    return grant_specialisation(
        session,
        mediator,
        code=code,
        granted_on=on,
        valid_until=valid_until,
        basis="Met the specialisation's criteria (test).",
        today=today or on,
        now=utcnow(),
        actor=staff_user(session),
    )


def open_invoice(session: Session, certification: Certification) -> Invoice:
    """Return the certification's earliest unsettled invoice, issuing the next one if none."""
    session.flush()
    invoice = session.scalar(
        select(Invoice)
        .where(Invoice.certification_id == certification.id, Invoice.settled_on.is_(None))
        .order_by(Invoice.period_start)
    )
    if invoice is None:
        last = session.scalar(
            select(func.max(Invoice.period_end)).where(Invoice.certification_id == certification.id)
        )
        invoice = issue_invoice(
            session,
            certification,
            period_start=last + timedelta(days=1),
            today=last,
            now=utcnow(),
        )
    return invoice


def pay(session: Session, certification: Certification, *, on: date, amount: int | None = None):  # type: ignore[no-untyped-def]
    """Pay (all of, by default) the certification's earliest open invoice on ``on``."""
    invoice = open_invoice(session, certification)
    return record_payment(
        session,
        invoice,
        amount_minor=amount if amount is not None else invoice.balance_minor,
        currency=invoice.currency,
        received_on=on,
        today=on,
        now=utcnow(),
        actor=staff_user(session),
    )


def add_locations(session: Session, program: Program, *places: tuple[str, str]) -> Program:
    """Record where ``program`` is delivered: (country, city) pairs, city may be ''."""
    from registry.organisations.models import ProgramLocation

    for country, city in places:
        program.locations.append(ProgramLocation(country=country, city=city))
    session.flush()
    return program


def make_review(
    session: Session,
    organisation: Organisation,
    *,
    author: User | None = None,
    rating: int = 4,
    body: str = "Well organised assessment with clear feedback.",
    is_anonymous: bool = False,
    hidden_reason: str | None = None,
):  # type: ignore[no-untyped-def]
    """Post a review through the service (by a new user unless ``author``); hide it if asked."""
    from registry.organisations.services import hide_review, post_review

    if author is None:
        number = session.scalar(select(func.count(User.id))) or 0
        author = make_user(session, email=f"reviewer{number}@example.org", name="Rhea Reviewer")
    review = post_review(
        session,
        organisation,
        rating=rating,
        body=body,
        is_anonymous=is_anonymous,
        actor=author,
        now=utcnow(),
    )
    if hidden_reason:
        hide_review(session, review, reason=hidden_reason, actor=staff_user(session), now=utcnow())
    return review


def make_digest(
    session: Session,
    mediator: Mediator,
    *,
    published_on: date,
    valid_days: int = 730,
    summary: str = "Parties found the mediator well prepared and even-handed.",
) -> Digest:
    """Add a published digest without answers (as staff recorded them before digests)."""
    now = utcnow()
    digest = Digest(
        mediator=mediator,
        summary=summary,
        created_at=now,
        updated_at=now,
        published_on=published_on,
        published_at=now,
        valid_until=published_on + timedelta(days=valid_days - 1),
    )
    session.add(digest)
    session.flush()
    return digest
