"""Peer reviewers, conflict declarations, Feedback Digests: services, pages and the daily job."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.clock import local_today
from registry.database import db, utcnow
from registry.digests import services
from registry.digests.jobs import sweep_digests
from registry.digests.models import AssignmentStatus, Digest, ReviewerAssignment
from registry.digests.queries import aggregate, mean_centi
from registry.digests.services import DigestError
from registry.events.models import Event
from registry.feedback.models import (
    DIMENSION_CODES,
    FeedbackAnswer,
    FeedbackRequest,
    FeedbackScore,
)
from registry.mail.models import OutboxMessage
from registry.mediators.checklist import prerequisites_on
from registry.scheduling.registry import get_jobs
from tests.conftest import confirmation_page, post_form
from tests.factories import (
    PASSWORD,
    grant,
    make_digest,
    make_mediator,
    make_user,
    set_fees,
    staff_user,
)

D = date.fromisoformat
TODAY = D("2026-03-10")
ANSWERED_ON = D("2026-02-01")
SUMMARY = (
    "Parties describe a well prepared, even-handed mediator who listened closely and kept "
    "the sessions moving without pressing anyone towards a settlement."
)


# -- Helpers -------------------------------------------------------------------------------


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def actions(session, action):
    return session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


def make_reviewer(session, email="rhea@example.org", name="Rhea Reviewer"):
    return make_user(session, email=email, name=name, roles=[Role.PEER_REVIEWER])


def add_answers(session, mediator, *scores, on=ANSWERED_ON, texts=("", "")):
    """Add one answer per entry of ``scores``: an int for every dimension, or a dict."""
    request = FeedbackRequest(
        mediator_id=mediator.id,
        mediation_month=D("2025-11-01"),
        mediation_kind="commercial",
        created_at=utcnow(),
    )
    session.add(request)
    session.flush()
    answers = []
    for value in scores:
        per_dimension = value if isinstance(value, dict) else dict.fromkeys(DIMENSION_CODES, value)
        answer = FeedbackAnswer(
            mediator_id=mediator.id,
            request_id=request.id,
            submitted_on=on,
            went_well=texts[0],
            could_improve=texts[1],
            scores=[FeedbackScore(dimension=d, score=s) for d, s in per_dimension.items()],
        )
        session.add(answer)
        answers.append(answer)
    session.flush()
    return answers


def assign(session, mediator, reviewer):
    return services.assign_reviewer(
        session, mediator, reviewer, now=utcnow(), actor=staff_user(session)
    )


def declare(session, assignment, *, conflict=False, details=""):
    return services.declare_conflict(
        session,
        assignment,
        has_conflict=conflict,
        details=details,
        now=utcnow(),
        actor=assignment.reviewer,
    )


def active(session, mediator, reviewer):
    return declare(session, assign(session, mediator, reviewer))


def publish(session, assignment, *, today=TODAY, summary=SUMMARY):
    return services.publish_digest(
        session, assignment, summary=summary, today=today, now=utcnow(), actor=assignment.reviewer
    )


@pytest.fixture
def mediator(ctx, session):
    return make_mediator(session, name="Zoë Müller")


@pytest.fixture
def reviewer(ctx, session):
    return make_reviewer(session)


# -- Assigning reviewers -------------------------------------------------------------------


def test_assigning_awaits_the_declaration_and_mails_the_reviewer(session, mediator, reviewer):
    assignment = assign(session, mediator, reviewer)
    assert assignment.status == AssignmentStatus.AWAITING_DECLARATION
    assert assignment.assigned_by_id == staff_user(session).id
    (mail,) = mails_to(session, reviewer.email)
    assert "declare any conflict with Zoë Müller" in mail.subject
    assert f"http://registry.test/reviewer/assignments/{assignment.id}" in mail.body_text
    (event,) = actions(session, "digest.reviewer_assigned")
    assert event.subject_id == mediator.public_id


@pytest.mark.parametrize(
    "case", ["not a reviewer", "own account", "already assigned", "declared a conflict"]
)
def test_assignment_refusals(session, mediator, reviewer, case):
    candidate = reviewer
    if case == "not a reviewer":
        candidate = make_user(session, email="med@example.org", name="Mo Mediator")
        message = "Mo Mediator is not a peer reviewer."
    elif case == "own account":
        mediator.user_id = reviewer.id
        message = "Rhea Reviewer is this mediator's own account."
    elif case == "already assigned":
        assign(session, mediator, make_reviewer(session, "other@example.org", "Otto Other"))
        message = "Otto Other is already assigned; withdraw that assignment first."
    else:
        declare(session, assign(session, mediator, reviewer), conflict=True, details="My cousin.")
        message = "Rhea Reviewer declared a conflict with this mediator; choose another reviewer."
    before = count(session, ReviewerAssignment)
    with pytest.raises(DigestError) as refused:
        assign(session, mediator, candidate)
    assert str(refused.value) == message
    assert count(session, ReviewerAssignment) == before


# -- Declarations --------------------------------------------------------------------------


def test_no_conflict_starts_the_review_and_tells_the_assigner(session, mediator, reviewer):
    assignment = active(session, mediator, reviewer)
    assert assignment.status == AssignmentStatus.ACTIVE
    assert assignment.has_conflict is False and assignment.declared_at is not None
    (mail,) = mails_to(session, staff_user(session).email)
    assert mail.subject == "Rhea Reviewer declared no conflict with Zoë Müller"
    assert actions(session, "digest.no_conflict_declared")


def test_a_declared_conflict_blocks_the_assignment(session, mediator, reviewer):
    add_answers(session, mediator, 5, 4, 4)
    assignment = declare(
        session, assign(session, mediator, reviewer), conflict=True, details="We share an office."
    )
    assert assignment.status == AssignmentStatus.CONFLICTED
    assert assignment.ended_at is not None and assignment.end_reason == services.CONFLICT_REASON
    assert assignment.conflict_details == "We share an office."
    (mail,) = mails_to(session, staff_user(session).email)
    assert mail.subject.startswith("Conflict declared: Rhea Reviewer cannot review")
    assert "We share an office." in mail.body_text
    for attempt in (
        lambda: services.save_draft(session, assignment, summary="x", now=utcnow(), actor=reviewer),
        lambda: publish(session, assignment),
        lambda: declare(session, assignment),
    ):
        with pytest.raises(DigestError, match="closed"):
            attempt()
    # Another reviewer can take over.
    assert assign(session, mediator, make_reviewer(session, "ann@example.org", "Ann Other"))


def test_a_later_conflict_ends_the_review_and_discards_the_draft(session, mediator, reviewer):
    add_answers(session, mediator, 5, 4, 4)
    assignment = active(session, mediator, reviewer)
    services.save_draft(session, assignment, summary="Half done", now=utcnow(), actor=reviewer)
    declare(session, assignment, conflict=True, details="I mediated against her last year.")
    assert assignment.status == AssignmentStatus.CONFLICTED
    assert assignment.end_reason == services.LATER_CONFLICT_REASON
    assert assignment.ended_at > assignment.declared_at
    assert count(session, Digest) == 0
    assert count(session, FeedbackAnswer, FeedbackAnswer.digest_id.is_(None)) == 3
    with pytest.raises(DigestError, match="declared a conflict with this mediator"):
        assign(session, mediator, reviewer)


def test_only_the_assigned_reviewer_declares(session, mediator, reviewer):
    assignment = assign(session, mediator, reviewer)
    other = make_reviewer(session, "other@example.org", "Otto Other")
    with pytest.raises(DigestError, match="Only the assigned peer reviewer"):
        services.declare_conflict(
            session, assignment, has_conflict=False, details="", now=utcnow(), actor=other
        )
    assert assignment.status == AssignmentStatus.AWAITING_DECLARATION


def test_a_conflict_needs_details(session, mediator, reviewer):
    assignment = assign(session, mediator, reviewer)
    with pytest.raises(DigestError, match="details cannot be empty"):
        declare(session, assignment, conflict=True, details="  ")
    assert assignment.status == AssignmentStatus.AWAITING_DECLARATION


def test_an_undeclared_reviewer_cannot_draft_or_publish(session, mediator, reviewer):
    add_answers(session, mediator, 5, 4, 4)
    assignment = assign(session, mediator, reviewer)
    with pytest.raises(DigestError, match="Declare whether you have a conflict"):
        publish(session, assignment)
    with pytest.raises(DigestError, match="Declare whether you have a conflict"):
        services.save_draft(session, assignment, summary="x", now=utcnow(), actor=reviewer)
    assert count(session, Digest) == 0


# -- Withdrawing ---------------------------------------------------------------------------


def test_withdrawing_an_active_assignment_ends_it(session, mediator, reviewer):
    assignment = active(session, mediator, reviewer)
    services.save_draft(session, assignment, summary="Begun", now=utcnow(), actor=reviewer)
    services.withdraw_assignment(
        session, assignment, reason="On leave", now=utcnow(), actor=staff_user(session)
    )
    assert assignment.status == AssignmentStatus.ENDED
    assert assignment.end_reason == "Withdrawn: On leave"
    assert count(session, Digest) == 0
    assert "On leave" in mails_to(session, reviewer.email)[-1].body_text
    with pytest.raises(DigestError, match="closed"):
        services.withdraw_assignment(
            session, assignment, reason="Again", now=utcnow(), actor=staff_user(session)
        )


def test_withdrawing_before_the_declaration_keeps_the_assignment_ended(session, mediator, reviewer):
    assignment = assign(session, mediator, reviewer)
    services.withdraw_assignment(
        session, assignment, reason="Wrong person", now=utcnow(), actor=staff_user(session)
    )
    assert assignment.status == AssignmentStatus.ENDED
    assert assignment.declared_at is None and assignment.end_reason == "Withdrawn: Wrong person"
    (event,) = actions(session, "digest.assignment_withdrawn")
    assert event.reason == "Wrong person" and event.data["before_declaration"] is True
    assert assign(session, mediator, reviewer)  # the mediator can have a reviewer again


def test_withdrawing_needs_a_reason(session, mediator, reviewer):
    assignment = assign(session, mediator, reviewer)
    with pytest.raises(DigestError, match="reason cannot be empty"):
        services.withdraw_assignment(
            session, assignment, reason=" ", now=utcnow(), actor=staff_user(session)
        )
    assert assignment.status == AssignmentStatus.AWAITING_DECLARATION


# -- Scores --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([5, 4, 4], 433),
        ([5, 4], 450),
        ([1, 2, 2], 167),
        ([5, 5, 4, 4, 4, 4, 4, 3], 413),  # 33 / 8 = 4.125: half up
        ([5, 5, 5, 4, 4, 4, 3, 3], 413),  # 33 / 8 again, another mix
        ([1, 1, 1, 1, 1, 1, 1, 2], 113),  # 9 / 8 = 1.125
        ([2, 2, 2, 2, 2, 2, 2, 3], 213),  # 17 / 8 = 2.125
        ([5, 5, 5], 500),
        ([1, 1, 1], 100),
        ([2, 3, 3], 267),  # 2.666...
        ([4, 4, 5], 433),  # 4.333...
    ],
)
def test_means_round_half_up_to_hundredths(scores, expected):
    assert mean_centi(sum(scores), len(scores)) == expected


def test_aggregate_is_per_dimension(session, mediator):
    answers = add_answers(
        session,
        mediator,
        {"preparation": 5, "overall": 1},
        {"preparation": 4, "overall": 2},
        {"preparation": 4},
    )
    scores = aggregate(answers)
    assert scores.count == 3
    assert scores.means == {"preparation": 433, "overall": 150}


# -- Drafts and publishing -----------------------------------------------------------------


def test_a_draft_is_saved_then_updated_in_one_digest(session, mediator, reviewer):
    assignment = active(session, mediator, reviewer)
    first = services.save_draft(session, assignment, summary="One", now=utcnow(), actor=reviewer)
    second = services.save_draft(session, assignment, summary="Two", now=utcnow(), actor=reviewer)
    assert first.id == second.id and second.summary == "Two"
    assert second.published_on is None and second.assignment_id == assignment.id


def test_publishing_below_the_minimum_changes_nothing(session, mediator, reviewer):
    add_answers(session, mediator, 5, 4)
    assignment = active(session, mediator, reviewer)
    with pytest.raises(DigestError) as refused:
        publish(session, assignment)
    assert str(refused.value) == (
        "3 answers are needed before a digest can be published; there are 2."
    )
    assert assignment.status == AssignmentStatus.ACTIVE
    assert count(session, Digest) == 0
    assert count(session, FeedbackAnswer, FeedbackAnswer.digest_id.is_(None)) == 2
    assert not actions(session, "digest.published")


@pytest.mark.parametrize(("summary", "message"), [("", "cannot be empty"), ("Short.", "at least")])
def test_publishing_needs_a_summary(session, mediator, reviewer, summary, message):
    add_answers(session, mediator, 5, 4, 4)
    assignment = active(session, mediator, reviewer)
    with pytest.raises(DigestError, match=message):
        publish(session, assignment, summary=summary)
    assert count(session, Digest) == 0


def test_publishing_uses_the_waiting_answers_and_ends_the_assignment(
    app, session, mediator, reviewer
):
    answers = add_answers(session, mediator, 5, 4, 4)
    assignment = active(session, mediator, reviewer)
    services.save_draft(session, assignment, summary="Draft", now=utcnow(), actor=reviewer)
    digest = publish(session, assignment)
    assert digest.summary == SUMMARY and digest.answer_count == 3
    assert digest.published_on == TODAY
    assert digest.valid_until == TODAY + timedelta(days=app.config["DIGEST_VALID_DAYS"] - 1)
    assert {s.dimension: s.mean_centi for s in digest.scores} == dict.fromkeys(DIMENSION_CODES, 433)
    assert all(answer.digest_id == digest.id for answer in answers)
    assert count(session, Digest) == 1  # the draft became the digest
    assert assignment.status == AssignmentStatus.ENDED
    assert assignment.end_reason == "Digest published"
    (mail,) = [m for m in mails_to(session, mediator.email) if "published" in m.subject]
    assert f"http://registry.test/mediators/{mediator.public_id}" in mail.body_text
    (event,) = actions(session, "digest.published")
    assert event.data["answer_count"] == 3 and event.actor_id == reviewer.id
    with pytest.raises(DigestError, match="closed"):
        publish(session, assignment)
    assert count(session, Digest, Digest.published_on.is_not(None)) == 1


def test_later_answers_wait_for_the_next_digest(session, mediator, reviewer):
    add_answers(session, mediator, 5, 4, 4)
    first = publish(session, active(session, mediator, reviewer))
    add_answers(session, mediator, 1, 1, 1)
    other = make_reviewer(session, "ann@example.org", "Ann Other")
    second = publish(session, active(session, mediator, other), today=TODAY + timedelta(days=1))
    assert {s.mean_centi for s in second.scores} == {100}
    assert count(session, FeedbackAnswer, FeedbackAnswer.digest_id == first.id) == 3


def test_the_certification_prerequisite_follows_the_digest(app, session, mediator, reviewer):
    def digest_item(on):
        (item,) = [i for i in prerequisites_on(session, mediator, on) if "Digest" in i.label]
        return item

    assert not digest_item(TODAY).is_done
    add_answers(session, mediator, 5, 4, 4)
    digest = publish(session, active(session, mediator, reviewer))
    assert digest_item(TODAY).is_done and digest_item(TODAY).done_on == TODAY
    assert digest_item(digest.valid_until).is_done
    assert not digest_item(digest.valid_until + timedelta(days=1)).is_done


def test_two_publishes_at_once_make_one_digest(fresh_app):
    with db.transaction() as session:
        mediator = make_mediator(session)
        reviewer = make_reviewer(session)
        add_answers(session, mediator, 5, 4, 4)
        assignment_id = active(session, mediator, reviewer).id
    start = threading.Barrier(2)
    outcomes = []

    def publisher():
        with fresh_app.app_context():
            start.wait()
            try:
                with db.transaction() as session:
                    publish(session, session.get(ReviewerAssignment, assignment_id))
                outcomes.append("published")
            except DigestError as error:
                outcomes.append(str(error))

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["This assignment is closed (ended).", "published"]
    with db.transaction() as session:
        assert count(session, Digest) == 1
        assert count(session, Event, Event.action == "digest.published") == 1


# -- Pages ---------------------------------------------------------------------------------


def sign_in(client, session, email, roles, name="Someone"):
    user = make_user(session, email=email, name=name, roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})
    return user


@pytest.fixture
def review(app, session):
    """A mediator with three answers and a reviewer assigned (not declared yet)."""
    with app.app_context():
        mediator = make_mediator(session, name="Zoë Müller")
        add_answers(session, mediator, 5, 4, 4, texts=("Calm and clear.", "Start on time."))
        reviewer = make_reviewer(session)
        assignment = assign(session, mediator, reviewer)
    return assignment


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def reviewer_in(client):
    post_form(client, "/login", {"email": "rhea@example.org", "password": PASSWORD})


def test_awaiting_page_shows_only_the_declaration(client, review):
    reviewer_in(client)
    html = page(client, f"/reviewer/assignments/{review.id}")
    assert "Zoë Müller" in html and "Netherlands" in html
    assert "I have no conflict of interest with this mediator" in html
    assert "Calm and clear." not in html and "4.33" not in html and "Answer 1" not in html


def test_no_conflict_needs_the_confirmation(client, session, review):
    reviewer_in(client)
    url = f"/reviewer/assignments/{review.id}"
    response = post_form(client, f"{url}/declaration", {"declaration": "none"}, form_url=url)
    assert response.status_code == 422
    assert "Tick the box to confirm that you have no conflict." in response.get_data(as_text=True)
    session.refresh(review)
    assert review.status == AssignmentStatus.AWAITING_DECLARATION


def test_declaring_no_conflict_opens_the_answers(client, session, review):
    reviewer_in(client)
    url = f"/reviewer/assignments/{review.id}"
    response = post_form(
        client, f"{url}/declaration", {"declaration": "none", "confirm": "y"}, form_url=url
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    html = page(client, url)
    assert "Calm and clear." in html and "Start on time." in html
    assert "Commercial mediation, November 2025" in html
    assert "4.33" in html and "Scores computed from 3 answers" in html
    assert "publish-why" not in html
    assert "@" not in html.split("<main")[1].split("</main>")[0]  # no address of anyone


def test_declaring_a_conflict_on_the_page(client, session, review):
    reviewer_in(client)
    url = f"/reviewer/assignments/{review.id}"
    data = {"declaration": "conflict", "kinds": ["gifts"], "details": "She paid my fees."}
    response = post_form(client, f"{url}/declaration", data, form_url=url)
    assert response.status_code == 303
    session.refresh(review)
    assert review.status == AssignmentStatus.CONFLICTED
    assert review.conflict_details.endswith("She paid my fees.")
    assert "Gifts" in review.conflict_details
    html = page(client, url)
    assert "This assignment has ended" in html and "Calm and clear." not in html


def test_publish_is_disabled_below_the_minimum(app, client, session):
    with app.app_context():
        mediator = make_mediator(session)
        add_answers(session, mediator, 5, 4)
        assignment = active(session, mediator, make_reviewer(session))
    reviewer_in(client)
    html = page(client, f"/reviewer/assignments/{assignment.id}")
    assert 'disabled aria-describedby="publish-why"' in html
    assert "Publishing needs at least 3 answers; 2 are waiting." in html


def test_publishing_on_the_page_shows_the_digest_on_the_profile(app, client, session):
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 1, today.year + 2))
        mediator = make_mediator(session, name="Zoë Müller")
        grant(session, mediator, on=today)
        add_answers(session, mediator, 5, 4, 4)
        assignment = active(session, mediator, make_reviewer(session))
    reviewer_in(client)
    url = f"/reviewer/assignments/{assignment.id}"
    draft = post_form(client, f"{url}/draft", {"summary": "First thoughts"}, form_url=url)
    assert draft.status_code == 303
    assert "First thoughts" in page(client, url)
    response = post_form(client, f"{url}/publish", {"summary": SUMMARY}, form_url=url)
    confirmation_page(
        response,
        "Yes, publish the digest",
        "Publish this Feedback Digest?",
        "publish your summary on Zoë Müller&#39;s public profile",
    )
    assert (
        session.scalar(select(Digest.published_on).where(Digest.mediator_id == mediator.id)) is None
    )
    response = post_form(
        client, f"{url}/publish", {"summary": SUMMARY, "confirmed": "1"}, form_url=url
    )
    assert response.status_code == 303
    html = page(client, f"/mediators/{mediator.public_id}")
    assert "based on 3 answers" in html and "4.33" in html and "Impartiality" in html
    assert SUMMARY in html
    assert f"Published {today.strftime('%-d %B %Y')}" in html


def test_a_short_summary_is_kept_on_the_page_with_the_reason(client, session, review):
    reviewer_in(client)
    url = f"/reviewer/assignments/{review.id}"
    post_form(client, f"{url}/declaration", {"declaration": "none", "confirm": "y"}, form_url=url)
    response = post_form(
        client, f"{url}/publish", {"summary": "Too short.", "confirmed": "1"}, form_url=url
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Too short.</textarea>" in html and "needs at least 50 characters" in html
    assert count(session, Digest) == 0


def test_a_recorded_digest_shows_without_scores(app, client, session):
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 1, today.year + 2))
        mediator = make_mediator(session)
        grant(session, mediator, on=today)
        make_digest(session, mediator, published_on=today - timedelta(days=10))
    html = page(client, f"/mediators/{mediator.public_id}")
    assert "Parties found the mediator well prepared and even-handed." in html
    assert "based on" not in html and "<meter" not in html


def test_a_profile_without_a_current_digest_says_so(app, client, session):
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 1, today.year + 2))
        mediator = make_mediator(session)
        grant(session, mediator, on=today)
        make_digest(session, mediator, published_on=today - timedelta(days=800))
    assert "No current Feedback Digest" in page(client, f"/mediators/{mediator.public_id}")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("own reviewer", 200),
        ("other reviewer", 404),
        ("support", 404),
        ("administrator", 404),
        ("mediator", 403),
        ("organisation admin", 403),
    ],
)
def test_only_the_assigned_reviewer_opens_an_assignment(client, session, review, who, status):
    roles = {
        "other reviewer": [Role.PEER_REVIEWER],
        "support": [Role.SUPPORT],
        "administrator": [Role.ADMINISTRATOR],
        "mediator": [Role.MEDIATOR],
        "organisation admin": [Role.ORGANISATION_ADMIN],
    }
    if who == "own reviewer":
        reviewer_in(client)
    else:
        sign_in(client, session, "someone@example.org", roles[who])
    url = f"/reviewer/assignments/{review.id}"
    assert client.get(url).status_code == status
    for action in ("declaration", "draft", "publish"):
        response = post_form(client, f"{url}/{action}", {"confirmed": "1"}, form_url="/account")
        assert response.status_code == (422 if status == 200 else status), action


def test_a_missing_assignment_is_404(client, session, review):
    reviewer_in(client)
    assert client.get("/reviewer/assignments/999999").status_code == 404


def test_reviewer_home_groups_assignments(app, client, session, review):
    with app.app_context():
        second = make_mediator(session, name="Ada Active")
        active(session, second, review.reviewer)
        third = make_mediator(session, name="Pia Past")
        declare(session, assign(session, third, review.reviewer), conflict=True, details="Kin.")
    reviewer_in(client)
    html = page(client, "/reviewer")
    awaiting, rest = html.split("In progress")
    in_progress, past = rest.split("Past (")
    assert "Zoë Müller" in awaiting and "Ada Active" in in_progress and "Pia Past" in past


def test_staff_page_shows_counts_and_declarations_not_answers(app, client, session, review):
    with app.app_context():
        declare(session, review, conflict=True, details="Former business partner.")
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    html = page(client, f"/staff/mediators/{review.mediator.public_id}/digest")
    assert '<p class="big-number">3</p>' in html
    assert "Calm and clear." not in html
    assert "Former business partner." in html and "Conflict declared" in html
    assert "Not offered, because they declared a conflict with this mediator: Rhea" in html


def test_staff_assign_and_withdraw_on_the_page(app, client, session):
    with app.app_context():
        mediator = make_mediator(session, name="Zoë Müller")
        reviewer = make_reviewer(session)
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    url = f"/staff/mediators/{mediator.public_id}/digest"
    response = post_form(
        client,
        f"/staff/mediators/{mediator.public_id}/reviewers",
        {"reviewer_id": str(reviewer.id)},
        form_url=url,
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    html = page(client, url)
    assert "Rhea Reviewer is assigned and asked by e-mail" in html
    assignment = session.scalar(select(ReviewerAssignment))
    withdraw = f"/staff/reviewer-assignments/{assignment.id}/withdraw"
    response = post_form(client, withdraw, {"reason": ""}, form_url=url)
    assert response.status_code == 303
    assert "Say why the assignment is withdrawn." in page(client, url)
    assert count(session, ReviewerAssignment) == 1
    post_form(client, withdraw, {"reason": "Reviewer on leave"}, form_url=url)
    session.refresh(assignment)
    assert assignment.status == AssignmentStatus.ENDED
    html = page(client, url)
    assert "The assignment of Rhea Reviewer is withdrawn" in html
    assert "never declared" in html and "Withdrawn: Reviewer on leave" in html


def test_staff_page_refuses_a_second_assignment(app, client, session, review):
    with app.app_context():
        other = make_reviewer(session, "ann@example.org", "Ann Other")
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    public_id = review.mediator.public_id
    url = f"/staff/mediators/{public_id}/digest"
    post_form(
        client,
        f"/staff/mediators/{public_id}/reviewers",
        {"reviewer_id": str(other.id)},
        form_url="/account",
    )
    assert "Rhea Reviewer is already assigned; withdraw that assignment first." in page(client, url)


# -- The daily job -------------------------------------------------------------------------


def run(session, on):
    summary = sweep_digests(session, D(on) if isinstance(on, str) else on, utcnow())
    session.flush()
    session.expire_all()
    return summary


@pytest.fixture
def published(session, mediator):
    """A digest valid from 2024-01-01 through 2025-12-30 (730 days)."""
    return make_digest(session, mediator, published_on=D("2024-01-01"))


def test_the_job_is_registered(app):
    with app.app_context():
        assert get_jobs().daily["digests"].sweep is sweep_digests


def test_reminds_once_within_the_window(session, mediator, published):
    assert published.valid_until == D("2025-12-30")
    assert run(session, "2025-10-30") == {"reminded": 0, "expired": 0}  # 61 days before
    assert run(session, "2025-10-31") == {"reminded": 1, "expired": 0}  # 60 days before
    (mail,) = mails_to(session, mediator.email)
    assert mail.subject == "Your Feedback Digest expires on 30 December 2025"
    assert "http://registry.test/my/feedback" in mail.body_text
    assert published.reminded_on == D("2025-10-31")
    assert run(session, "2025-10-31") == {"reminded": 0, "expired": 0}
    assert run(session, "2025-12-30") == {"reminded": 0, "expired": 0}
    assert len(mails_to(session, mediator.email)) == 1


def test_a_missed_window_day_is_caught_up(session, mediator, published):
    assert run(session, "2025-12-30") == {"reminded": 1, "expired": 0}  # the last valid day


def test_only_the_latest_digest_reminds(session, mediator, published):
    make_digest(session, mediator, published_on=D("2025-10-01"))
    assert run(session, "2025-11-01") == {"reminded": 0, "expired": 0}
    assert published.reminded_on is None


def test_expires_once_and_tells_the_mediator(session, mediator, published):
    published.reminded_on = D("2025-11-01")
    assert run(session, "2025-12-30") == {"reminded": 0, "expired": 0}  # still valid
    assert run(session, "2026-01-05") == {"reminded": 0, "expired": 1}  # a missed day
    assert published.expired_on == D("2025-12-31")
    (mail,) = mails_to(session, mediator.email)
    assert mail.subject == "Your Feedback Digest expired on 30 December 2025"
    (event,) = actions(session, "digest.expired")
    assert event.subject_id == mediator.public_id and event.data["digest_id"] == published.id
    assert run(session, "2026-01-05") == {"reminded": 0, "expired": 0}
    assert run(session, "2026-02-01") == {"reminded": 0, "expired": 0}
    assert len(mails_to(session, mediator.email)) == 1


def test_an_old_expiry_found_late_is_marked_without_mail(session, mediator, published):
    published.reminded_on = D("2025-11-01")
    assert run(session, "2026-01-31") == {"reminded": 0, "expired": 1}  # 31 days late
    assert published.expired_on == D("2025-12-31")
    assert mails_to(session, mediator.email) == []


@pytest.mark.parametrize(("run_on", "mailed"), [("2026-01-14", 1), ("2026-01-15", 0)])
def test_an_expiry_is_mailed_only_within_the_recent_window(
    session, mediator, published, run_on, mailed
):
    published.reminded_on = D("2025-11-01")
    assert run(session, run_on)["expired"] == 1  # expired 2025-12-31; window 14 days
    assert len(mails_to(session, mediator.email)) == mailed


def test_an_expiry_covered_by_a_newer_digest_mails_nobody(session, mediator, published):
    published.reminded_on = D("2025-11-01")
    newer = make_digest(session, mediator, published_on=D("2025-12-01"))
    newer.reminded_on = D("2025-12-01")  # not due for years; keeps the check to the expiry
    assert run(session, "2025-12-31") == {"reminded": 0, "expired": 1}
    assert published.expired_on == D("2025-12-31") and newer.expired_on is None
    assert mails_to(session, mediator.email) == []
