"""A small register for the search and public page tests: someone in every status."""

from datetime import timedelta

from sqlalchemy import select

from registry.clock import local_today
from registry.database import utcnow
from registry.mediators.models import CertificationType, Mediator
from registry.mediators.services import (
    grant_certification,
    revoke_certification,
    suspend_certification,
    update_profile,
)
from tests.factories import grant, make_mediator, pay, set_fees, specialise, staff_user

# name, country, languages, granted specialisations
CERTIFIED = [
    ("Anna Müller", "DE", ["de", "en"], ["investor_state"]),
    ("Eva Mueller", "AT", ["de"], ["online_dispute_resolution"]),
    ("Łukasz Nowak", "PL", ["pl", "en"], ["investor_state", "intercultural"]),
    ("Nguyễn Văn An", "VN", ["vi", "en"], []),
    ("Siobhán O'Connor", "IE", ["en", "ga"], ["online_dispute_resolution"]),
    ("José García Márquez", "ES", ["es"], ["intercultural"]),
]
ADVOCATE = "José García Márquez"


def certify(session, name, country, languages, specialisations, granted_on, advocate=False):
    mediator = make_mediator(session, name=name, country=country)
    mediator.languages = languages
    update_profile(session, mediator, now=utcnow(), actor=staff_user(session), languages=languages)
    if advocate:
        certification = grant_certification(
            session,
            mediator,
            certification_type=CertificationType.ADVOCATE,
            granted_on=granted_on,
            today=granted_on,
            now=utcnow(),
            actor=staff_user(session),
            check_prerequisites=False,
        )
        pay(session, certification, on=granted_on)
    else:
        grant(session, mediator, on=granted_on)
    for code in specialisations:
        specialise(session, mediator, code, on=granted_on)
    return mediator


def build_register(session):
    """Six certified mediators, and a Müller in every status that must never be listed."""
    today = local_today()
    set_fees(session, years=range(today.year - 4, today.year + 2))
    staff = staff_user(session)
    people = {}
    for number, (name, country, languages, specialisations) in enumerate(CERTIFIED):
        people[name] = certify(
            session,
            name,
            country,
            languages,
            specialisations,
            today - timedelta(days=100 + number),
            advocate=name == ADVOCATE,
        )
    lapsed = make_mediator(session, name="Greta Müller", country="DE")
    grant(session, lapsed, on=today - timedelta(days=395))
    struck = make_mediator(session, name="Karl Müller", country="DE")
    grant(session, struck, on=today - timedelta(days=790))
    applicant = make_mediator(session, name="Paul Müller", country="DE")
    grant(session, applicant, on=today - timedelta(days=10), paid=False)
    make_mediator(session, name="Rosa Müller", country="DE")  # no grant at all
    for name, action in [
        ("Lena Müller", suspend_certification),
        ("Otto Müller", revoke_certification),
    ]:
        mediator = make_mediator(session, name=name, country="DE")
        grant(session, mediator, on=today - timedelta(days=200))
        action(
            session,
            mediator.current_certification,
            on=today - timedelta(days=5),
            reason="Professional Conduct Assessment outcome.",
            today=today,
            now=utcnow(),
            actor=staff,
        )
    people.update(
        {m.name: m for m in session.scalars(select(Mediator).where(Mediator.name.like("%Müller")))}
    )
    session.commit()  # the index is refreshed as the transaction commits
    return people
