"""Demo register: organisations and programs, a fee schedule, and a mediator profile for every
demo mediator account, in every status of the lifecycle.

Facts are made through the real services with past dates (grants, payments, waivers, conduct
outcomes), so every status is computed by the same rules as in production.
"""

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.clock import add_years
from registry.contributions.models import Invoice, Tier
from registry.contributions.services import (
    issue_invoice,
    record_payment,
    request_waiver,
    set_country_tier,
    set_fee_rate,
)
from registry.demo_feedback import answers_waiting, publish_demo_digest
from registry.mediators.models import (
    Certification,
    CertificationType,
    Mediator,
    SpecialisationBasis,
)
from registry.mediators.services import (
    create_profile,
    grant_certification,
    record_assessment,
    record_qualification,
    revoke_certification,
    suspend_certification,
)
from registry.mediators.specialisations import grant_specialisation
from registry.mediators.status import certification_standing
from registry.organisations.models import (
    Organisation,
    Program,
    ProgramLocation,
    ProgramType,
    Review,
)
from registry.organisations.services import add_organisation_admin, hide_review, post_review

# Name, head office, account type, website, description, and each program's places.
ORGANISATIONS = [
    (
        "Amsterdam Mediation Academy",
        "NL",
        "qap3",
        "https://amsterdam-mediation-academy.example",
        "Trains commercial and workplace mediators and assesses them for certification. "
        "Courses run in English and Dutch, with role-plays led by practising mediators.",
        {
            ProgramType.CMTP: [("NL", "Amsterdam"), ("NL", "Rotterdam"), ("BE", "Brussels")],
            ProgramType.QAP: [("NL", "Amsterdam"), ("DE", "Düsseldorf")],
        },
    ),
    (
        "Nairobi Centre for Dispute Resolution",
        "KE",
        "qap2",
        "https://ncdr.example",
        "Assesses mediators across East Africa, including for intercultural competence.",
        {
            ProgramType.QAP: [("KE", "Nairobi"), ("KE", "Mombasa"), ("UG", "Kampala")],
            ProgramType.ICQAP: [("KE", "Nairobi"), ("TZ", "Dar es Salaam"), ("RW", "Kigali")],
        },
    ),
    (
        "Online Mediation Institute",
        "US",
        "qap3",
        "https://online-mediation-institute.example",
        "Trains mediators in person and assesses online dispute resolution skills remotely.",
        {
            ProgramType.CMTP: [("US", "New York"), ("US", "San Francisco"), ("CA", "Toronto")],
            ProgramType.ODRQAP: [("US", ""), ("GB", "")],
        },
    ),
    (
        "Lisbon Advocacy School",
        "PT",
        "qap2",
        "https://lisbon-advocacy.example",
        "Assesses lawyers who represent parties in mediation.",
        {
            ProgramType.MAQAP: [
                ("PT", "Lisbon"),
                ("PT", "Porto"),
                ("ES", "Madrid"),
                ("BR", "São Paulo"),
            ]
        },
    ),
    (
        "Singapore International Mediation Training",
        "SG",
        "qap1",
        "https://simt.example",
        "Five-day foundation courses for mediators in South and South-East Asia.",
        {ProgramType.CMTP: [("SG", "Singapore"), ("MY", "Kuala Lumpur"), ("IN", "Mumbai")]},
    ),
    (
        "Centre Européen de Médiation",
        "FR",
        "qap3",
        "https://centre-europeen-mediation.example",
        "Formation et évaluation des médiateurs en français; intercultural assessment in "
        "French and Arabic.",
        {
            ProgramType.CMTP: [("FR", "Paris"), ("FR", "Lyon"), ("CH", "Geneva")],
            ProgramType.ICQAP: [("FR", "Paris"), ("MA", "Casablanca")],
        },
    ),
]
# Reviews: (organisation, reviewer, rating, days ago, text); reviewers are the first six demo
# mediators and then Marta, the walk-through mediator.
REVIEWS = [
    (0, 0, 5, 200, "Demanding but fair. Role-plays with experienced mediators were the best part."),
    (0, 1, 4, 90, "Well organised; assessment results came in three weeks, with detailed notes."),
    (1, 2, 4, 150, "The intercultural assessment made me question my own assumptions."),
    (2, 3, 5, 60, "The online assessment worked smoothly across time zones."),
    (3, 6, 3, 30, "Good content, but the dates of the assessment moved twice."),
    (5, 5, 4, 20, "Excellent trainers; materials only partly available in English."),
]
ANONYMOUS_FEEDBACK = (
    1,
    3,
    45,
    "Feedback relayed by registry support: a candidate found the waiting time for assessment "
    "results too long and asked not to be named.",
)
HIDDEN_REVIEW = (
    2,
    4,
    1,
    10,
    "Terrible, my case against Acme Ltd was handled badly by one of their graduates.",
    "Names a party to a mediation; the author was asked to post again without it.",
)
COUNTRIES = ["NL", "DE", "GB", "FR", "PL", "KE", "NG", "US", "BR", "IN", "JP", "SG", "PT", "ES"]
REDUCED = {
    "KE": Tier.REDUCED_50,
    "NG": Tier.REDUCED_50,
    "IN": Tier.REDUCED_50,
    "BR": Tier.REDUCED_25,
    "PL": Tier.REDUCED_25,
}
LANGUAGES = ["en", "fr", "de", "es", "pt", "nl", "pl", "sw", "ja", "zh", "ar", "hi"]
# Practice areas are what mediators say of their work (shown as declared, not verified); some
# declare an interest that matches a specialisation the registry has not granted them.
PRACTICE_AREAS = [
    "Commercial, banking",
    "Family, inheritance",
    "Workplace, employment",
    "Construction, energy",
    "Intercultural and cross-border disputes",
    "Online dispute resolution, e-commerce",
]
# Shares of certified demo mediators who also hold these (beyond program-based grants).
ADVOCATE_SHARE = 0.06
INVESTOR_STATE_SHARE = 0.03
INVESTOR_STATE_BASIS = (
    "Direct grant: met the Investor-State specialisation criteria (at least five treaty-based "
    "mediations as mediator or co-mediator, references from two parties' counsel)."
)
FEE_MINOR = 25_000  # EUR 250.00 a year, full tier
# Share of demo mediators in each lifecycle state (the rest are certified).
PLAN = [
    ("applicant", 0.15),
    ("lapsed", 0.08),
    ("struck", 0.09),
    ("suspended", 0.03),
    ("revoked", 0.02),
]


class _Demo:
    def __init__(
        self, session: Session, staff: User, reviewer: User, today: date, now: datetime
    ) -> None:
        self.session, self.staff, self.today, self.now = session, staff, today, now
        self.reviewer = reviewer
        self.rng = random.Random(2026)  # noqa: S311 (repeatable demo data, not secrets)
        self.programs: list[Program] = []
        self.organisation_list: list[Organisation] = []
        self.bases: dict[str, list[str]] | None = None

    def organisations(self) -> None:
        for name, country, account_type, website, description, programs in ORGANISATIONS:
            organisation = Organisation(
                name=name,
                head_office_country=country,
                account_type=account_type,
                website=website,
                description=description,
                created_at=self.now,
            )
            self.organisation_list.append(organisation)
            self.session.add(organisation)
            for kind, places in programs.items():
                self.programs.append(
                    Program(
                        organisation=organisation,
                        program_type=kind.value,
                        name=f"{kind.label} ({country})",
                        recognised_on=date(2019, 6, 30),
                        locations=[ProgramLocation(country=c, city=city) for c, city in places],
                    )
                )
        self.session.add_all(self.programs)
        self.session.flush()

    def reviews(self, reviewers: list[User]) -> None:
        """Post the demo reviews, one anonymous feedback by support and one hidden review."""
        for index, author, rating, days, body in REVIEWS:
            self.review(index, reviewers[author], rating, days, body)
        index, rating, days, body = ANONYMOUS_FEEDBACK
        self.review(index, self.staff, rating, days, body, is_anonymous=True)
        index, author, rating, days, body, reason = HIDDEN_REVIEW
        review = self.review(index, reviewers[author], rating, days, body)
        hide_review(
            self.session, review, reason=reason, actor=self.staff, now=self.now - timedelta(days=9)
        )

    def review(
        self,
        index: int,
        author: User,
        rating: int,
        days: int,
        body: str,
        *,
        is_anonymous: bool = False,
    ) -> Review:
        return post_review(
            self.session,
            self.organisation_list[index],
            rating=rating,
            body=body,
            is_anonymous=is_anonymous,
            actor=author,
            now=self.now - timedelta(days=days),
        )

    def fees(self) -> None:
        for year in range(2014, self.today.year + 3):
            set_fee_rate(
                self.session,
                year=year,
                amount_minor=FEE_MINOR,
                currency="EUR",
                actor=self.staff,
                now=self.now,
            )
        for country, tier in REDUCED.items():
            set_country_tier(
                self.session, country=country, tier=tier, actor=self.staff, now=self.now
            )

    def profile(self, user: User, complete: bool, country: str | None = None) -> Mediator:
        rng = self.rng
        extra = {}
        if complete:
            extra = {
                "languages": rng.sample(LANGUAGES, rng.randint(1, 3)),
                "biography": f"{user.name} mediates {rng.choice(['commercial', 'workplace', 'family', 'cross-border'])} disputes and trains new mediators. Member of the registry since {rng.randint(2012, 2024)}.",  # noqa: E501
                "contact": f"https://{user.email.split('@')[0]}.mediation.example",
                "practice_areas": rng.choice(PRACTICE_AREAS),
            }
        return create_profile(
            self.session,
            name=user.name,
            email=user.email,
            user=user,
            country=country or rng.choice(COUNTRIES),
            now=self.now,
            actor=self.staff,
            **extra,
        )

    def qualify(self, mediator: Mediator, granted_on: date) -> None:
        training = [p for p in self.programs if p.program_type == "CMTP"]
        assessment = [p for p in self.programs if p.program_type != "CMTP"]
        day = granted_on - timedelta(days=self.rng.randint(30, 200))
        record_qualification(
            self.session,
            mediator,
            program_id=self.rng.choice(training).id,
            completed_on=day - timedelta(days=60),
            today=self.today,
            now=self.now,
            actor=self.staff,
        )
        record_assessment(
            self.session,
            mediator,
            program_id=self.rng.choice(assessment).id,
            assessed_on=day,
            today=self.today,
            now=self.now,
            actor=self.staff,
        )
        publish_demo_digest(
            self.session,
            mediator,
            reviewer=self.reviewer,
            staff=self.staff,
            published_on=max(day, self.today - timedelta(days=400)),
            rng=self.rng,
        )

    def start(self, mediator: Mediator) -> None:
        """Take an applicant part of the way: training, perhaps an assessment and answers."""
        rng = self.rng
        training = [p for p in self.programs if p.program_type == "CMTP"]
        assessment = [p for p in self.programs if p.program_type != "CMTP"]
        day = self.today - timedelta(days=rng.randint(20, 400))
        self._record(record_qualification, mediator, rng.choice(training), day)
        if rng.random() < 0.5:
            self._record(record_assessment, mediator, rng.choice(assessment), day)
            if rng.random() < 0.5:
                answers_waiting(
                    self.session, mediator, today=self.today, rng=rng, count=rng.randint(1, 2)
                )

    def _record(self, service, mediator: Mediator, program: Program, day: date) -> None:  # type: ignore[no-untyped-def]
        field = "completed_on" if service is record_qualification else "assessed_on"
        service(
            self.session,
            mediator,
            program_id=program.id,
            today=self.today,
            now=self.now,
            actor=self.staff,
            **{field: day},
        )

    def walk_through(self, applicant: User, organisation_admin: User) -> None:
        """Olga administers the first organisation; its applicant waits only for feedback."""
        academy = self.organisation_list[0]
        add_organisation_admin(
            self.session, academy, email=organisation_admin.email, actor=self.staff, now=self.now
        )
        mediator = self.profile(applicant, complete=True, country="NL")
        programs = {p.program_type: p for p in academy.programs}
        self._record(
            record_qualification, mediator, programs["CMTP"], self.today - timedelta(days=200)
        )
        self._record(record_assessment, mediator, programs["QAP"], self.today - timedelta(days=30))

    def certify(self, mediator: Mediator, state: str) -> None:
        """Grant in the past and pay periods so that ``mediator`` is in ``state`` today."""
        rng, today = self.rng, self.today
        covered_until = {
            "certified": today + timedelta(days=rng.randint(0, 360)),
            "lapsed": today - timedelta(days=rng.randint(1, 330)),
            "struck": today - timedelta(days=rng.randint(380, 1500)),
        }.get(state, today + timedelta(days=rng.randint(20, 300)))
        years = rng.randint(1, 4)
        granted_on = add_years(covered_until + timedelta(days=1), -years)
        self.qualify(mediator, granted_on)
        certification = grant_certification(
            self.session,
            mediator,
            certification_type=CertificationType.MEDIATOR,
            granted_on=granted_on,
            today=today,
            now=self.now,
            actor=self.staff,
            check_prerequisites=False,
        )
        invoice = certification_invoice(self.session, certification.id)
        for _ in range(years):
            self.pay(invoice)
            invoice = issue_invoice(
                self.session,
                certification,
                period_start=invoice.period_end + timedelta(days=1),
                today=min(invoice.period_end, today),
                now=self.now,
            )
        if state in ("suspended", "revoked"):
            on = max(today - timedelta(days=rng.randint(5, 120)), granted_on)
            action = suspend_certification if state == "suspended" else revoke_certification
            action(
                self.session,
                certification,
                on=on,
                today=today,
                now=self.now,
                actor=self.staff,
                reason=CONDUCT_REASONS[state],
            )
        elif state == "certified":
            self.credentials(mediator, certification)
        if state == "certified" and rng.random() < 0.05:
            request_waiver(
                self.session,
                invoice,
                percent=rng.choice([25, 50, 100]),
                today=self.today,
                reason="Pro bono practice this year; income below the threshold.",
                actor=mediator.user,
                now=self.now,
            )

    def credentials(self, mediator: Mediator, certification: Certification) -> None:
        """Grant what a certified mediator's programs support, and some more, as staff would."""
        rng, today = self.rng, self.today
        since = certification_standing(self.session, certification, today).since
        bases = self._bases()
        for assessment in mediator.assessments:
            for code in bases.get(assessment.program.program_type, ()):
                granted_on = max(since, assessment.assessed_on, today - timedelta(days=300))
                self.specialise(mediator, code, granted_on, program_id=assessment.program_id)
        if rng.random() < INVESTOR_STATE_SHARE:
            granted_on = max(since, today - timedelta(days=rng.randint(10, 500)))
            self.specialise(mediator, "investor_state", granted_on, basis=INVESTOR_STATE_BASIS)
        if rng.random() < ADVOCATE_SHARE:
            grant_certification(
                self.session,
                mediator,
                certification_type=CertificationType.ADVOCATE,
                granted_on=max(since, today - timedelta(days=rng.randint(10, 300))),
                today=today,
                now=self.now,
                actor=self.staff,
                check_prerequisites=False,
            )

    def _bases(self) -> dict[str, list[str]]:
        """Return the specialisation codes each program type is a basis for."""
        if self.bases is None:
            self.bases = {}
            for row in self.session.scalars(select(SpecialisationBasis)):
                self.bases.setdefault(row.program_type, []).append(row.code)
        return self.bases

    def specialise(self, mediator: Mediator, code: str, granted_on: date, **basis: object) -> None:
        grant_specialisation(
            self.session,
            mediator,
            code=code,
            granted_on=granted_on,
            today=self.today,
            now=self.now,
            actor=self.staff,
            **basis,  # type: ignore[arg-type]
        )

    def pay(self, invoice: Invoice) -> None:
        late = self.rng.random() < 0.1
        received = invoice.period_start + timedelta(days=self.rng.randint(1, 40) if late else -10)
        received = min(max(received, invoice.certification.granted_on), self.today)
        record_payment(
            self.session,
            invoice,
            amount_minor=invoice.amount_minor,
            currency=invoice.currency,
            received_on=received,
            today=self.today,
            now=self.now,
            actor=self.staff,
        )


CONDUCT_REASONS = {
    "suspended": "Professional Conduct Assessment in progress after a complaint by a party.",
    "revoked": "Professional Conduct Assessment panel found a serious breach of impartiality.",
}


def certification_invoice(session: Session, certification_id: int) -> Invoice:
    """Return the first invoice of a certification."""
    return session.scalars(
        select(Invoice)
        .where(Invoice.certification_id == certification_id)
        .order_by(Invoice.period_start)
    ).first()


def load_register(
    session: Session,
    *,
    staff: User,
    reviewer: User,
    mediators: list[User],
    marta: User,
    applicant: User,
    organisation_admin: User,
    today: date,
    now: datetime,
) -> dict[str, int]:
    """Load the demo register; return how many mediators are in each planned state."""
    demo = _Demo(session, staff, reviewer, today, now)
    demo.organisations()
    demo.fees()
    counts: dict[str, int] = {}
    for user in mediators:
        draw, state = demo.rng.random(), "certified"
        for name, share in PLAN:
            if draw < share:
                state = name
                break
            draw -= share
        complete = state != "applicant" or demo.rng.random() < 0.5
        mediator = demo.profile(user, complete=complete)
        if state != "applicant":
            demo.certify(mediator, state)
        elif complete:
            demo.start(mediator)
        counts[state] = counts.get(state, 0) + 1
    # The walk-through mediator: lapsed, with an open invoice of EUR 250.00 (full tier) to pay,
    # assessed by an ICQAP (a basis for Intercultural, which she declares but was not granted).
    marta_profile = demo.profile(marta, complete=True, country="NL")
    demo.certify(marta_profile, "lapsed")
    marta_profile.practice_areas = "Intercultural and cross-border disputes"
    icqap = next(p for p in demo.programs if p.program_type == ProgramType.ICQAP.value)
    demo._record(record_assessment, marta_profile, icqap, today - timedelta(days=90))
    demo.reviews([*mediators[:6], marta])
    demo.walk_through(applicant, organisation_admin)
    return counts
