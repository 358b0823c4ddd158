"""Standard setting at the service level: a standard from proposal to a second published
version, the refusals of each step (wrong person, wrong state, wrong input), the published
versions' guard, founding, and the daily job that closes consultations."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from registry.accounts.models import Role
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.models import Specialisation
from standards import queries
from standards import services as s
from standards.demo import DOMAIN, load_standards_demo
from standards.jobs import sweep_standards
from standards.models import (
    Consultation,
    Decision,
    PublishedVersionError,
    StandardProposal,
    StandardRule,
    StandardVersion,
    TaskforceMember,
    Verdict,
    VersionStatus,
)
from standards.services import StandardError
from tests.factories import make_user
from tests.standards_factories import (
    TODAY,
    at,
    close_consultation,
    make_board_member,
    make_comment,
    make_committee_member,
    make_standard,
    make_taskforce,
    open_consultation,
)

NOW = at(TODAY)


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def history(session, standard):
    """The actions logged about ``standard``, oldest first: what its public history reads."""
    return session.scalars(
        select(Event.action)
        .where(Event.subject_type == "standard", Event.subject_id == str(standard.id))
        .order_by(Event.id)
    ).all()


@pytest.fixture
def people(session, ctx):
    return {
        "board": make_board_member(session),
        "proposer": make_user(session, email="proposer@example.org", name="Pia Proposer"),
        "chair": make_committee_member(session, email="chair@example.org", name="Cy Chair"),
        "member": make_committee_member(session, email="member@example.org", name="Mo Member"),
        "outsider": make_committee_member(session, email="out@example.org", name="Oz Outsider"),
    }


def clock(actor, day=TODAY):
    return {"today": day, "now": at(day), "actor": actor}


def accepted_standard(session, people, code="ETH"):
    """A proposal accepted by the Board, with its chair and one member appointed."""
    proposal = s.propose_standard(
        session,
        title="Online mediation ethics",
        purpose="Ethical duties online.",
        scope="Every mediator.",
        actor=people["proposer"],
        now=NOW,
    )
    standard = s.accept_proposal(
        session,
        proposal,
        code=code,
        kind="guidance",
        program_types=[],
        actor=people["board"],
        now=NOW,
    )
    for who, is_chair in (("chair", True), ("member", False)):
        s.appoint_member(
            session,
            standard,
            people[who],
            is_chair=is_chair,
            term_starts_on=TODAY,
            term_ends_on=date(2028, 12, 31),
            **clock(people["board"]),
        )
    return standard


def test_a_standard_from_proposal_to_a_second_published_version(session, people):
    board, chair, member = people["board"], people["chair"], people["member"]
    # Step 1: anyone signed in proposes; the Board accepts, creating version 1 in drafting.
    proposal = s.propose_standard(
        session,
        title="Online mediation ethics",
        purpose="Ethical duties online.",
        scope="Every mediator.",
        actor=people["proposer"],
        now=NOW,
    )
    assert (
        session.scalar(
            select(Event.action).where(
                Event.subject_type == "standard_proposal", Event.subject_id == str(proposal.id)
            )
        )
        == "standard.proposed"
    )
    standard = s.accept_proposal(
        session, proposal, code="eth", kind="guidance", program_types=[], actor=board, now=NOW
    )
    assert (standard.code, proposal.decision, proposal.standard_id) == (
        "ETH",
        "accepted",
        standard.id,
    )
    [version] = standard.versions
    assert (version.number, version.status) == (1, VersionStatus.DRAFTING)
    assert "accepted" in mails_to(session, "proposer@example.org")[0].subject
    # Step 2: the Board appoints the taskforce; each member is told.
    for who, is_chair in (("chair", True), ("member", False)):
        s.appoint_member(
            session,
            standard,
            people[who],
            is_chair=is_chair,
            term_starts_on=TODAY,
            term_ends_on=date(2028, 12, 31),
            **clock(board),
        )
    assert [m.user.name for m in queries.current_taskforce(session, standard.id, TODAY)] == [
        "Cy Chair",
        "Mo Member",
    ]
    assert "chair" in mails_to(session, "chair@example.org")[0].subject
    assert "appointed" in mails_to(session, "member@example.org")[0].subject
    # Step 3: the members draft; every saved edit bumps the draft revision.
    first = s.add_rule(
        session, version, body="Tell the parties about the platform", **clock(member)
    )
    second = s.add_rule(session, version, body="Check each party can use it", **clock(member))
    third = s.add_rule(session, version, body="Keep private sessions private", **clock(chair))
    s.edit_rule(session, first, body="Tell the parties which platform is used", **clock(member))
    s.move_rule(session, third, up=True, **clock(member))
    s.remove_rule(session, second, **clock(member))
    assert [(r.code, r.position) for r in version.rules] == [("ETH-1", 1), ("ETH-3", 2)]
    assert version.draft_revision == 7
    assert s.add_rule(session, version, body="A fourth", **clock(member)).code == "ETH-4"
    # Step 4: the chair consults; the draft is frozen while the consultation is open.
    consultation = s.open_consultation(
        session, version, closes_on=TODAY + timedelta(days=14), **clock(chair)
    )
    assert version.status == VersionStatus.CONSULTATION
    assert [rule["code"] for rule in consultation.rules] == ["ETH-1", "ETH-3", "ETH-4"]
    assert consultation.draft_revision == version.draft_revision == 8
    with pytest.raises(StandardError, match="consultation is open"):
        s.edit_rule(session, first, body="Changed", **clock(member))
    by_account = make_comment(session, consultation, rule_code="ETH-1", author=people["proposer"])
    by_email = make_comment(session, consultation, rule_code="ETH-1")
    anonymous = make_comment(session, consultation, anonymous=True, body="Cover telephone too.")
    hidden = make_comment(session, consultation, anonymous=True, hidden_reason="Advertising.")
    unconfirmed = make_comment(
        session, consultation, author_name="X", author_email="x@example.org", confirmed=False
    )
    # Step 5: the job closes it after its last day; the taskforce answers, grouped.
    assert sweep_standards(session, consultation.closes_on, NOW) == {"consultations_closed": 0}
    closed_on = consultation.closes_on + timedelta(days=1)
    assert sweep_standards(session, closed_on, at(closed_on)) == {"consultations_closed": 1}
    assert version.status == VersionStatus.REVISING and consultation.closed_at is not None
    later = closed_on + timedelta(days=2)
    with pytest.raises(StandardError, match="3 comment"):
        s.propose_publication(session, version, **clock(chair, later))
    with pytest.raises(StandardError, match="not shown"):
        s.answer_comments(
            session, consultation, [hidden], verdict="accepted", body="No", **clock(member, later)
        )
    grouped = s.answer_comments(
        session,
        consultation,
        [by_account, by_email],
        verdict=Verdict.PARTLY,
        body="We say which platform; not its vendor.",
        **clock(member, later),
    )
    s.answer_comments(
        session,
        consultation,
        [anonymous],
        verdict=Verdict.ACCEPTED,
        body="Added.",
        **clock(member, later),
    )
    assert by_account.answer_id == by_email.answer_id == grouped.id
    assert (hidden.answer_id, unconfirmed.answer_id) == (None, None)
    s.add_rule(
        session, version, body="Telephone mediations follow the same rules", **clock(member, later)
    )
    with pytest.raises(StandardError, match="chair"):
        s.propose_publication(session, version, **clock(member, later))
    s.propose_publication(session, version, **clock(chair, later))
    assert version.status == VersionStatus.PROPOSED
    assert "Publication proposed" in mails_to(session, "board@example.org")[0].subject
    # The Board sends it back once, then publishes it.
    s.decline_publication(
        session, version, reason="Say what 'private' means.", now=at(later), actor=board
    )
    assert version.status == VersionStatus.REVISING
    s.edit_rule(
        session, third, body="Private sessions cannot be joined or recorded", **clock(member, later)
    )
    s.propose_publication(session, version, **clock(chair, later))
    s.approve_publication(session, version, **clock(board, later))
    assert (version.status, version.published_on, version.approved_by) == (
        "published",
        later,
        board,
    )
    assert queries.version_in_force(session, standard.id, later) is version
    with pytest.raises(StandardError, match="published version never changes"):
        s.edit_rule(session, first, body="Changed after publication", **clock(member, later))
    # A second version: its rules start as a copy; a published code is never reused.
    revision = s.start_revision(session, standard, actor=board, now=at(later))
    assert (revision.number, revision.status) == (2, VersionStatus.DRAFTING)
    assert [r.code for r in revision.rules] == ["ETH-1", "ETH-3", "ETH-4", "ETH-5"]
    s.remove_rule(session, revision.rules[-1], **clock(member, later))
    assert s.add_rule(session, revision, body="New", **clock(member, later)).code == "ETH-6"
    s.save_change_summary(
        session, revision, summary="ETH-5 replaced by ETH-6.", **clock(member, later)
    )
    second_round = s.open_consultation(
        session, revision, closes_on=later + timedelta(days=20), **clock(chair, later)
    )
    assert second_round.round == 1  # rounds count per version
    published = later + timedelta(days=30)
    s.close_consultation(session, second_round, **clock(chair, later + timedelta(days=21)))
    s.propose_publication(session, revision, **clock(chair, published))
    s.approve_publication(session, revision, **clock(board, published))
    assert queries.version_in_force(session, standard.id, published - timedelta(days=1)) is version
    assert queries.version_in_force(session, standard.id, published) is revision
    assert version.status == VersionStatus.PUBLISHED
    assert [r.body for r in version.rules][-1] == "Telephone mediations follow the same rules"
    assert history(session, standard) == [
        "standard.proposal_accepted",
        "taskforce.member_appointed",
        "taskforce.member_appointed",
        *["standard.draft_saved"] * 7,
        "standard.consultation_opened",
        "standard.consultation_closed",
        "standard.comment_answered",
        "standard.comment_answered",
        "standard.draft_saved",
        "standard.publication_proposed",
        "standard.publication_declined",
        "standard.draft_saved",
        "standard.publication_proposed",
        "standard.version_published",
        "standard.revision_started",
        *["standard.draft_saved"] * 3,
        "standard.consultation_opened",
        "standard.consultation_closed",
        "standard.publication_proposed",
        "standard.version_published",
    ]


def test_a_second_round_must_be_answered_too(session, people):
    standard = accepted_standard(session, people)
    version = standard.versions[0]
    chair, member = people["chair"], people["member"]
    s.add_rule(session, version, body="A rule", **clock(member))
    first = s.open_consultation(
        session, version, closes_on=TODAY + timedelta(days=14), **clock(chair)
    )
    make_comment(session, first, anonymous=True)
    day = TODAY + timedelta(days=15)
    s.close_consultation(session, first, **clock(chair, day))
    s.answer_comments(
        session,
        first,
        first.comments,
        verdict="not_accepted",
        body="Because.",
        **clock(member, day),
    )
    second = s.open_consultation(
        session, version, closes_on=day + timedelta(days=14), **clock(chair, day)
    )
    assert second.round == 2
    waiting = make_comment(session, second, author=people["proposer"])
    day += timedelta(days=15)
    s.close_consultation(session, second, **clock(chair, day))
    with pytest.raises(StandardError, match="1 comment"):
        s.propose_publication(session, version, **clock(chair, day))
    s.answer_comments(
        session, second, [waiting], verdict="accepted", body="Done.", **clock(member, day)
    )
    s.propose_publication(session, version, **clock(chair, day))
    assert version.status == VersionStatus.PROPOSED


# -- Refusals: wrong person, wrong state, wrong input -----------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("1AB", "capital letters"),
        ("A", "capital letters"),
        ("ABCDEFGHIJKLM", "capital letters"),
        ("AB-1", "capital letters"),
        ("QAP", "taken"),
    ],
)
def test_accepting_refuses_a_bad_or_taken_code(session, people, code, message):
    proposal = s.propose_standard(
        session, title="T", purpose="P", scope="S", actor=people["proposer"], now=NOW
    )
    with pytest.raises(StandardError, match=message):
        s.accept_proposal(
            session,
            proposal,
            code=code,
            kind="rules",
            program_types=[],
            actor=people["board"],
            now=NOW,
        )
    assert proposal.decision == Decision.PENDING


def test_only_the_board_decides_proposals_and_only_once(session, people):
    proposal = s.propose_standard(
        session, title="T", purpose="P", scope="S", actor=people["proposer"], now=NOW
    )
    with pytest.raises(StandardError, match="Board"):
        s.accept_proposal(
            session,
            proposal,
            code="NEW",
            kind="rules",
            program_types=[],
            actor=people["chair"],
            now=NOW,
        )
    with pytest.raises(StandardError, match="empty"):
        s.decline_proposal(session, proposal, reason="  ", actor=people["board"], now=NOW)
    with pytest.raises(StandardError, match="program type"):
        s.accept_proposal(
            session,
            proposal,
            code="NEW",
            kind="rules",
            program_types=["XYZ"],
            actor=people["board"],
            now=NOW,
        )
    s.decline_proposal(session, proposal, reason="Covered by QAP.", actor=people["board"], now=NOW)
    assert (proposal.decision, proposal.decision_reason) == (Decision.DECLINED, "Covered by QAP.")
    assert "declined" in mails_to(session, "proposer@example.org")[0].subject
    assert "Covered by QAP." in mails_to(session, "proposer@example.org")[0].body_text
    with pytest.raises(StandardError, match="already decided"):
        s.accept_proposal(
            session,
            proposal,
            code="NEW",
            kind="rules",
            program_types=[],
            actor=people["board"],
            now=NOW,
        )


@pytest.mark.parametrize("empty", ["title", "purpose", "scope"])
def test_a_proposal_needs_a_title_purpose_and_scope(session, people, empty):
    fields = {"title": "T", "purpose": "P", "scope": "S", empty: ""}
    with pytest.raises(StandardError, match="empty"):
        s.propose_standard(session, **fields, actor=people["proposer"], now=NOW)
    assert count(session, StandardProposal) == 0


def test_appointments_refused(session, people):
    standard = accepted_standard(session, people)
    board = people["board"]
    terms = {"term_starts_on": TODAY, "term_ends_on": date(2028, 1, 1)}
    with pytest.raises(StandardError, match="not a committee member"):
        s.appoint_member(
            session, standard, people["proposer"], is_chair=False, **terms, **clock(board)
        )
    with pytest.raises(StandardError, match="already on"):
        s.appoint_member(
            session, standard, people["member"], is_chair=False, **terms, **clock(board)
        )
    with pytest.raises(StandardError, match="has a chair"):
        s.appoint_member(
            session, standard, people["outsider"], is_chair=True, **terms, **clock(board)
        )
    with pytest.raises(StandardError, match="end before"):
        s.appoint_member(
            session, standard, people["outsider"], is_chair=False,
            term_starts_on=TODAY, term_ends_on=TODAY - timedelta(days=1), **clock(board),
        )  # fmt: skip
    with pytest.raises(StandardError, match="Board"):
        s.appoint_member(
            session, standard, people["outsider"], is_chair=False, **terms, **clock(people["chair"])
        )
    assert count(session, TaskforceMember) == 2


def test_the_database_keeps_one_current_chair(session, people):
    standard = accepted_standard(session, people)
    session.add(
        TaskforceMember(
            standard_id=standard.id,
            user_id=people["outsider"].id,
            is_chair=True,
            term_starts_on=TODAY,
            term_ends_on=TODAY,
            appointed_at=NOW,
            appointed_by_id=people["board"].id,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_naming_a_chair_and_ending_a_membership(session, people):
    standard = accepted_standard(session, people)
    version = standard.versions[0]
    seats = {m.user_id: m for m in queries.current_taskforce(session, standard.id, TODAY)}
    member_seat = seats[people["member"].id]
    s.name_chair(session, member_seat, now=NOW, actor=people["board"])
    chair, member = queries.current_taskforce(session, standard.id, TODAY)
    assert (chair.user.name, member.user.name) == ("Mo Member", "Cy Chair")
    assert seats[people["chair"].id].is_chair is False
    s.end_membership(session, member_seat, reason="Term cut short.", now=NOW, actor=people["board"])
    with pytest.raises(StandardError, match="ended already"):
        s.end_membership(session, member_seat, reason="", now=NOW, actor=people["board"])
    with pytest.raises(StandardError, match="current member"):
        s.add_rule(session, version, body="A rule", **clock(people["member"]))
    assert history(session, standard)[-2:] == [
        "taskforce.chair_named",
        "taskforce.membership_ended",
    ]


def test_only_members_draft(session, people):
    standard = accepted_standard(session, people)
    with pytest.raises(StandardError, match="current member"):
        s.add_rule(session, standard.versions[0], body="A rule", **clock(people["outsider"]))
    with pytest.raises(StandardError, match="empty"):
        s.add_rule(session, standard.versions[0], body=" ", **clock(people["member"]))
    assert standard.versions[0].rules == []


def test_opening_a_consultation_refused(session, people):
    standard = accepted_standard(session, people)
    version = standard.versions[0]
    chair = people["chair"]
    with pytest.raises(StandardError, match="at least one rule"):
        s.open_consultation(session, version, closes_on=TODAY + timedelta(days=30), **clock(chair))
    s.add_rule(session, version, body="A rule", **clock(chair))
    with pytest.raises(StandardError, match="chair"):
        s.open_consultation(
            session, version, closes_on=TODAY + timedelta(days=30), **clock(people["member"])
        )
    with pytest.raises(StandardError, match="at least 14 days"):
        s.open_consultation(session, version, closes_on=TODAY + timedelta(days=13), **clock(chair))
    with pytest.raises(StandardError, match="at most"):
        s.open_consultation(session, version, closes_on=TODAY + timedelta(days=200), **clock(chair))
    assert count(session, Consultation) == 0 and version.status == VersionStatus.DRAFTING
    consultation = s.open_consultation(
        session, version, closes_on=TODAY + timedelta(days=14), **clock(chair)
    )
    with pytest.raises(StandardError, match="consultation is open"):
        s.open_consultation(session, version, closes_on=TODAY + timedelta(days=30), **clock(chair))
    with pytest.raises(StandardError, match="until"):
        s.close_consultation(session, consultation, **clock(chair, consultation.closes_on))
    with pytest.raises(StandardError, match="chair"):
        s.close_consultation(
            session, consultation, **clock(people["member"], TODAY + timedelta(days=15))
        )
    with pytest.raises(StandardError, match="once the consultation has closed"):
        s.answer_comments(
            session,
            consultation,
            [make_comment(session, consultation)],
            verdict="accepted",
            body="x",
            **clock(chair),
        )
    s.close_consultation(session, consultation, **clock(chair, TODAY + timedelta(days=15)))
    with pytest.raises(StandardError, match="closed already"):
        s.close_consultation(session, consultation, **clock(chair, TODAY + timedelta(days=16)))


def test_answers_refused(session, people):
    standard = make_standard(session, published_on=None)
    version = standard.versions[0]
    chair = make_taskforce(session, standard, chair=people["chair"], members=[people["member"]])
    consultation = close_consultation(session, open_consultation(session, version))
    other = make_standard(session, code="OTHER", published_on=None)
    stranger = make_comment(
        session, close_consultation(session, open_consultation(session, other.versions[0]))
    )
    comment = make_comment(session, consultation)
    with pytest.raises(StandardError, match="not of this consultation"):
        s.answer_comments(
            session, consultation, [stranger], verdict="accepted", body="x", **clock(chair)
        )
    with pytest.raises(StandardError, match="verdict"):
        s.answer_comments(
            session, consultation, [comment], verdict="maybe", body="x", **clock(chair)
        )
    with pytest.raises(StandardError, match="Choose the comments"):
        s.answer_comments(session, consultation, [], verdict="accepted", body="x", **clock(chair))
    with pytest.raises(StandardError, match="current member"):
        s.answer_comments(
            session,
            consultation,
            [comment],
            verdict="accepted",
            body="x",
            **clock(people["outsider"]),
        )
    s.answer_comments(
        session, consultation, [comment], verdict="accepted", body="x", **clock(chair)
    )
    with pytest.raises(StandardError, match="answered already"):
        s.answer_comments(
            session, consultation, [comment], verdict="partly", body="y", **clock(chair)
        )


def test_publication_refused(session, people):
    standard = make_standard(session, published_on=None)
    version = standard.versions[0]
    chair = make_taskforce(session, standard, chair=people["chair"])
    with pytest.raises(StandardError, match="revised after its consultation"):
        s.propose_publication(session, version, **clock(chair))
    with pytest.raises(StandardError, match="not proposed"):
        s.approve_publication(session, version, **clock(people["board"]))
    close_consultation(session, open_consultation(session, version))
    s.propose_publication(session, version, **clock(chair))
    with pytest.raises(StandardError, match="Board"):
        s.approve_publication(session, version, **clock(chair))
    with pytest.raises(StandardError, match="empty"):
        s.decline_publication(session, version, reason="", now=NOW, actor=people["board"])
    with pytest.raises(StandardError, match="with the Board"):
        s.add_rule(session, version, body="Late", **clock(chair))
    assert version.status == VersionStatus.PROPOSED


def test_a_revision_needs_a_change_summary(session, people):
    standard = make_standard(session)
    chair = make_taskforce(session, standard, chair=people["chair"])
    revision = s.start_revision(session, standard, actor=people["board"], now=NOW)
    close_consultation(session, open_consultation(session, revision))
    with pytest.raises(StandardError, match="what changed"):
        s.propose_publication(session, revision, **clock(chair))


def test_revisions_refused(session, people):
    standard = make_standard(session, published_on=None)
    with pytest.raises(StandardError, match="version in the making"):
        s.start_revision(session, standard, actor=people["board"], now=NOW)
    published = make_standard(session, code="PUB")
    with pytest.raises(StandardError, match="Board"):
        s.start_revision(session, published, actor=people["chair"], now=NOW)
    s.start_revision(session, published, actor=people["board"], now=NOW)
    with pytest.raises(StandardError, match="version in the making"):
        s.start_revision(session, published, actor=people["board"], now=NOW)


def test_the_database_keeps_one_unpublished_version(session):
    standard = make_standard(session, published_on=None)
    session.add(StandardVersion(standard=standard, number=2, status="drafting", created_at=NOW))
    with pytest.raises(IntegrityError):
        session.flush()


# -- Published versions are immutable ---------------------------------------------------------


def test_the_orm_refuses_to_change_a_published_version(session):
    version = make_standard(session).versions[0]
    version.rules[0].body = "Rewritten"
    with pytest.raises(PublishedVersionError):
        session.flush()
    session.rollback()


def test_the_orm_refuses_a_new_rule_in_a_published_version(session):
    version = make_standard(session).versions[0]
    session.add(StandardRule(version_id=version.id, code="ETH-9", position=9, body="Late"))
    with pytest.raises(PublishedVersionError):
        session.flush()
    session.rollback()


def test_the_orm_refuses_to_unpublish(session):
    version = make_standard(session).versions[0]
    version.change_summary = "Rewritten history"
    with pytest.raises(PublishedVersionError):
        session.flush()
    session.rollback()


def test_publishing_passes_the_guard(session, people):
    version = make_standard(session, published_on=None).versions[0]
    version.status = VersionStatus.PROPOSED
    session.flush()
    s.approve_publication(session, version, **clock(people["board"]))
    assert count(session, StandardVersion, StandardVersion.status == "published") >= 1


def test_publishing_tells_the_current_taskforce_in_their_language(session, people):
    standard = accepted_standard(session, people)
    gone = make_committee_member(session, email="gone@example.org", name="Gus Gone")
    s.appoint_member(
        session,
        standard,
        gone,
        is_chair=False,
        term_starts_on=TODAY,
        term_ends_on=date(2028, 12, 31),
        **clock(people["board"]),
    )
    seat = session.scalars(select(TaskforceMember).where(TaskforceMember.user_id == gone.id)).one()
    s.end_membership(session, seat, reason="Moved abroad.", now=NOW, actor=people["board"])
    people["member"].locale = "fr"
    version = standard.versions[0]
    version.status = VersionStatus.PROPOSED
    session.flush()
    before = count(session, OutboxMessage)
    s.approve_publication(session, version, **clock(people["board"]))
    [to_chair] = mails_to(session, "chair@example.org")[-1:]
    assert to_chair.subject == f"Published: {version.label}"
    assert "/standards/ETH/1" in to_chair.body_text and "in force from" in to_chair.body_text
    to_member = mails_to(session, "member@example.org")[-1]
    assert to_member.subject.startswith("Publiée") and "en vigueur" in to_member.body_text
    # Two mails: the chair and the member; not the member whose seat ended, nor the Board.
    assert count(session, OutboxMessage) == before + 2
    assert not [m for m in mails_to(session, "gone@example.org") if "Publi" in m.subject]


# -- Step 6: founding --------------------------------------------------------------------------


def test_founding_a_specialisation(session, people):
    session.add(Specialisation(code="family", name="Family"))
    standard = make_standard(session)
    chair = make_taskforce(session, standard, chair=people["chair"], members=[people["member"]])
    kwargs = {"kind": "specialisation", "rationale": "Programs train for it.", **clock(chair)}
    with pytest.raises(StandardError, match="chair"):
        s.propose_founding(
            session, standard, code="elder", name="Elder", **{**kwargs, "actor": people["member"]}
        )
    with pytest.raises(StandardError, match="exists already"):
        s.propose_founding(session, standard, code="family", name="Family 2", **kwargs)
    with pytest.raises(StandardError, match="called"):
        s.propose_founding(session, standard, code="fam2", name="Family", **kwargs)
    with pytest.raises(StandardError, match="lower-case"):
        s.propose_founding(session, standard, code="Elder!", name="Elder", **kwargs)
    proposal = s.propose_founding(session, standard, code="elder", name="Elder mediation", **kwargs)
    assert "Founding proposed" in mails_to(session, "board@example.org")[0].subject
    with pytest.raises(StandardError, match="proposed already"):
        s.propose_founding(session, standard, code="elder", name="Elder care", **kwargs)
    with pytest.raises(StandardError, match="Board"):
        s.approve_founding(session, proposal, now=NOW, actor=chair)
    s.approve_founding(session, proposal, now=NOW, actor=people["board"])
    assert session.get(Specialisation, "elder").name == "Elder mediation"
    assert proposal.decision == Decision.ACCEPTED
    with pytest.raises(StandardError, match="already decided"):
        s.decline_founding(session, proposal, reason="No", now=NOW, actor=people["board"])
    assert history(session, standard)[-2:] == [
        "standard.founding_proposed",
        "standard.founding_approved",
    ]


def test_founding_a_program_type_records_the_decision_only(session, people):
    standard = make_standard(session)
    chair = make_taskforce(session, standard, chair=people["chair"])
    kwargs = {
        "kind": "program_type",
        "name": "Conflict coaching",
        "rationale": "Why.",
        **clock(chair),
    }
    with pytest.raises(StandardError, match="exists already"):
        s.propose_founding(session, standard, code="QAP", **kwargs)
    with pytest.raises(StandardError, match="capital"):
        s.propose_founding(session, standard, code="ccqap", **kwargs)
    proposal = s.propose_founding(session, standard, code="CCQAP", **kwargs)
    before = count(session, Specialisation)
    s.approve_founding(session, proposal, now=NOW, actor=people["board"])
    assert proposal.decision == Decision.ACCEPTED and count(session, Specialisation) == before


def test_founding_declined_and_refused_for_an_unpublished_standard(session, people):
    draft = make_standard(session, code="DRAFT", published_on=None)
    chair = make_taskforce(session, draft, chair=people["chair"])
    kwargs = {"kind": "specialisation", "code": "elder", "name": "Elder", "rationale": "Why."}
    with pytest.raises(StandardError, match="published standard"):
        s.propose_founding(session, draft, **kwargs, **clock(chair))
    standard = make_standard(session)
    make_taskforce(session, standard, chair=chair, appointed_by=people["board"])
    proposal = s.propose_founding(session, standard, **kwargs, **clock(chair))
    with pytest.raises(StandardError, match="empty"):
        s.decline_founding(session, proposal, reason="", now=NOW, actor=people["board"])
    s.decline_founding(session, proposal, reason="Too narrow.", now=NOW, actor=people["board"])
    assert (proposal.decision, proposal.decision_reason) == (Decision.DECLINED, "Too narrow.")
    assert session.get(Specialisation, "elder") is None


# -- The daily job ----------------------------------------------------------------------------


def test_the_job_closes_only_consultations_past_their_last_day(session, people):
    due = make_standard(session, code="DUE", published_on=None).versions[0]
    running = make_standard(session, code="RUN", published_on=None).versions[0]
    past = open_consultation(session, due, closes_on=TODAY - timedelta(days=1))
    today = open_consultation(session, running, closes_on=TODAY)
    assert sweep_standards(session, TODAY, NOW) == {"consultations_closed": 1}
    assert (past.closed_at, today.closed_at) == (NOW, None)
    assert (due.status, running.status) == (VersionStatus.REVISING, VersionStatus.CONSULTATION)
    assert sweep_standards(session, TODAY, NOW) == {"consultations_closed": 0}
    closing = session.scalars(
        select(Event).where(Event.action == "standard.consultation_closed")
    ).all()
    assert [(e.subject_id, e.actor_id) for e in closing] == [(str(due.standard_id), None)]


def test_the_job_is_registered(app):
    assert "standards" in app.extensions["jobs"].daily


# -- The demo ---------------------------------------------------------------------------------


def test_the_demo_standards(session, ctx):
    for local, roles in (
        ("board", [Role.BOARD_MEMBER]),
        ("chair", [Role.COMMITTEE_MEMBER]),
        ("committee", [Role.COMMITTEE_MEMBER]),
        ("taskforce", [Role.COMMITTEE_MEMBER]),
        ("mediator", [Role.MEDIATOR]),
        ("applicant", [Role.MEDIATOR]),
        ("director", [Role.EXECUTIVE_DIRECTOR]),
    ):
        make_user(session, email=f"{local}@{DOMAIN}", name=local.title(), roles=roles)
    load_standards_demo(session, today=TODAY, now=NOW)
    qap = queries.standard_by_code(session, "QAP")
    first, second = queries.published_versions(session, qap.id)
    assert (second.number, second.approved_by.email) == (2, f"board@{DOMAIN}")
    assert first.published_on < second.published_on < TODAY
    [consultation] = queries.consultations_of(session, second.id)
    comments = consultation.comments
    assert consultation.closed_at is not None and len(comments) == 5
    assert {c.is_anonymous for c in comments} == {True, False}
    assert any(c.author_id for c in comments) and any(c.author_email for c in comments)
    assert [c.hidden_reason for c in comments if c.hidden_at] == [
        "Advertising, unrelated to the draft."
    ]
    assert all(c.answer_id for c in comments if c.is_shown)
    # Consulted on the draft as first written (version 1's words); revised after it closed.
    consulted = {rule["code"]: rule["body"] for rule in consultation.rules}
    assert consulted == {rule.code: rule.body for rule in first.rules}
    assert {rule.code for rule in second.rules if consulted.get(rule.code) != rule.body} == {
        "QAP-2",
        "QAP-6",
        "QAP-8",
    }
    odr = queries.standard_by_code(session, "ODRETHICS")
    version = queries.version_in_making(session, odr.id)
    [open_round] = queries.consultations_of(session, version.id)
    assert open_round.is_open_on(TODAY) and len(open_round.comments) == 2
    assert [m.is_chair for m in queries.current_taskforce(session, odr.id, TODAY)] == [True, False]
    coc = queries.version_in_making(session, queries.standard_by_code(session, "COC").id)
    assert (coc.number, coc.status) == (2, VersionStatus.REVISING)
    assert len(queries.unanswered_comments(session, coc.id)) == 3
    assert [p.title for p in queries.pending_proposals(session)] == ["Peer mediation in schools"]
    assert [f.code for f in queries.pending_foundings(session)] == ["elder"]
