"""The public organisations directory, organisation profiles, and reviews with moderation."""

import re

import pytest
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.database import utcnow
from registry.events.models import Event
from registry.organisations import services
from registry.organisations.models import Review
from tests.conftest import csrf_token, post_form
from tests.factories import (
    PASSWORD,
    add_locations,
    make_organisation,
    make_program,
    make_review,
    make_user,
)

NAME_LINK = re.compile(r'<a href="/organisations/\d+">([^<]+)</a>')


def sign_in(client, session, email, roles, name=None):
    user = make_user(session, email=email, name=name or email.split("@")[0].title(), roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})
    return user


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def listed(response):
    """Return the organisation names in the directory's result table, in order."""
    return NAME_LINK.findall(response.get_data(as_text=True))


@pytest.fixture
def directory(session):
    """Four organisations: their head offices, account types, programs and places differ."""
    amsterdam = make_organisation(session, name="Amsterdam Mediation Academy", country="NL")
    add_locations(
        session,
        make_program(session, program_type="CMTP", organisation=amsterdam),
        ("NL", "Amsterdam"),
        ("DE", "Berlin"),
    )
    add_locations(
        session,
        make_program(session, program_type="QAP", organisation=amsterdam),
        ("NL", "Utrecht"),
    )
    nairobi = make_organisation(
        session, name="Nairobi Centre for Dispute Resolution", country="KE", account_type="qap2"
    )
    add_locations(
        session,
        make_program(session, program_type="ICQAP", organisation=nairobi),
        ("KE", "Nairobi"),
        ("TZ", ""),
    )
    lodz = make_organisation(
        session, name="Łódź Mediation Institute", country="PL", account_type="qap1"
    )
    add_locations(
        session,
        make_program(session, program_type="CMTP", organisation=lodz),
        ("PL", "Łódź"),
        ("DE", "Berlin"),
    )
    online = make_organisation(session, name="Online Mediation Institute", country="US")
    add_locations(
        session, make_program(session, program_type="ODRQAP", organisation=online), ("US", "")
    )
    return {"amsterdam": amsterdam, "nairobi": nairobi, "lodz": lodz, "online": online}


# -- The directory -------------------------------------------------------------------------


def test_directory_lists_organisations_by_name_with_programs_and_places(client, directory):
    response = client.get("/organisations")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert listed(response) == [
        "Amsterdam Mediation Academy",
        "Łódź Mediation Institute",
        "Nairobi Centre for Dispute Resolution",
        "Online Mediation Institute",
    ]
    assert "4 organisations" in page
    row = page[page.index("Nairobi Centre") : page.index("Online Mediation Institute</a>")]
    assert "Kenya" in row and "QAP 2 (assessment)" in row and ">ICQAP</abbr>" in row
    assert "Kenya, Tanzania" in row and "None yet" in row
    assert "Germany, Netherlands" in page  # Amsterdam's places, each country once


def test_directory_offers_only_filter_values_in_use(client, directory):
    page = client.get("/organisations").get_data(as_text=True)
    head_office = page[
        page.index('name="country"') : page.index("</select>", page.index('name="country"'))
    ]
    assert '<option value="KE">Kenya</option>' in head_office
    assert "Germany" not in head_office and "France" not in head_office
    places = page[page.index('name="location"') :]
    assert '<option value="TZ">Tanzania</option>' in places and "France" not in places
    assert '<option value="MAQAP">' not in page and '<option value="ICQAP">' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("country=KE", ["Nairobi Centre for Dispute Resolution"]),
        ("country=nl", ["Amsterdam Mediation Academy"]),
        ("program=ICQAP", ["Nairobi Centre for Dispute Resolution"]),
        ("program=cmtp", ["Amsterdam Mediation Academy", "Łódź Mediation Institute"]),
        ("account=qap1", ["Łódź Mediation Institute"]),
        ("account=qap3", ["Amsterdam Mediation Academy", "Online Mediation Institute"]),
        ("location=DE", ["Amsterdam Mediation Academy", "Łódź Mediation Institute"]),
        ("location=TZ", ["Nairobi Centre for Dispute Resolution"]),
        ("q=lodz", ["Łódź Mediation Institute"]),
        ("q=ACADEMY", ["Amsterdam Mediation Academy"]),
        ("q=mediation+inst", ["Łódź Mediation Institute", "Online Mediation Institute"]),
        ("q=institute+nairobi", []),
        # Combined: program type and place name the same program.
        ("program=CMTP&location=DE", ["Amsterdam Mediation Academy", "Łódź Mediation Institute"]),
        ("program=QAP&location=DE", []),
        ("program=QAP&location=NL", ["Amsterdam Mediation Academy"]),
        ("account=qap3&location=DE", ["Amsterdam Mediation Academy"]),
        ("q=institute&account=qap1&country=PL", ["Łódź Mediation Institute"]),
        ("country=FR", []),
    ],
)
def test_directory_filters(client, directory, query, expected):
    response = client.get(f"/organisations?{query}")
    assert response.status_code == 200
    assert listed(response) == expected
    if not expected:
        assert "No organisation matches these filters." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("country=XX", "Unknown country code &#39;XX&#39;."),
        ("location=Germany", "Unknown country code &#39;GERMANY&#39;."),
        ("program=FOO", "Unknown program type &#39;FOO&#39;"),
        ("account=qap9", "Unknown account type &#39;qap9&#39;"),
        ("page=0", "No such page."),
        ("page=abc", "Not a valid integer value."),
        ("page=99999999", "No such page."),
        ("q=" + "x" * 101, "cannot be longer than 100 characters"),
    ],
)
def test_directory_explains_bad_parameters(client, directory, query, message):
    response = client.get(f"/organisations?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and "correct the fields marked above" in page
    assert NAME_LINK.search(page) is None


def test_directory_pages(client, session):
    for number in range(27):
        make_organisation(session, name=f"Academy {number:02}")
    first = client.get("/organisations")
    assert len(listed(first)) == 25 and "Page 1 of 2" in first.text
    second = client.get("/organisations?page=2")
    assert listed(second) == ["Academy 25", "Academy 26"]
    beyond = client.get("/organisations?page=3")
    assert beyond.status_code == 200 and "There is no page 3; the last is page 2." in beyond.text


# -- Profiles ------------------------------------------------------------------------------


def test_profile_shows_programs_places_and_visible_reviews(client, session, directory):
    amsterdam = directory["amsterdam"]
    amsterdam.website = "https://academy.example"
    amsterdam.description = "Training mediators since 2004."
    support = make_user(session, email="sam@example.org", name="Sam Support", roles=[Role.SUPPORT])
    make_review(session, amsterdam, rating=5, body="Excellent trainers.")
    make_review(
        session, amsterdam, rating=3, body="Relayed by phone.", author=support, is_anonymous=True
    )
    make_review(session, amsterdam, rating=1, body="Spam spam spam", hidden_reason="Advertising")
    response = client.get(f"/organisations/{amsterdam.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="https://academy.example" rel="nofollow noopener">' in page
    assert "Training mediators since 2004." in page and "QAP 3 (training and assessment)" in page
    assert "Competent Mediator Training Program" in page and "Berlin, Germany" in page
    assert "recognised on 1 January 2020" in page
    assert "<strong>4.0</strong> out of 5" in page and "Average of 2 reviews." in page
    assert page.index("Relayed by phone.") < page.index("Excellent trainers.")  # newest first
    assert ">Anonymous feedback (posted by registry support)</span>" in page
    assert "Sam Support" not in page and "Rhea Reviewer" in page
    assert "Spam spam spam" not in page and "Advertising" not in page
    assert "@example.org" not in page
    assert "Sign in</a> to review" in page


def test_a_website_that_is_not_a_web_address_is_not_a_link(client, session):
    organisation = make_organisation(session)
    organisation.website = "javascript:alert(1)"
    session.flush()
    page = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "javascript:alert(1)" in page and 'href="javascript' not in page


def test_staff_see_hidden_reviews_with_the_reason_and_moderation_buttons(client, session):
    organisation = make_organisation(session)
    visible = make_review(session, organisation, body="Helpful staff.")
    hidden = make_review(session, organisation, body="Spam spam spam", hidden_reason="Advertising")
    sign_in(client, session, "mo@example.org", [Role.MEDIATOR])
    page = client.get(f"/organisations/{organisation.id}").text
    assert "Spam spam spam" not in page and "Hide this review" not in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    sign_in(client, session, "director@example.org", [Role.EXECUTIVE_DIRECTOR])
    page = client.get(f"/organisations/{organisation.id}").text
    assert "Spam spam spam" in page and "Reason: Advertising" in page
    assert f"/reviews/{hidden.id}/restore" in page and f"/reviews/{visible.id}/hide" in page
    assert f"/reviews/{hidden.id}/hide" not in page
    assert "Average of 1 review." in page  # the average counts what the public sees


def test_unknown_organisation_and_bad_review_page_are_refused(client, session, directory):
    assert client.get("/organisations/999999").status_code == 404
    response = client.get(f"/organisations/{directory['online'].id}?page=0")
    assert response.status_code == 400 and "There is no such page of reviews." in response.text


# -- Posting reviews -----------------------------------------------------------------------


def test_a_signed_in_user_posts_one_review(client, session, directory):
    organisation = directory["nairobi"]
    user = sign_in(client, session, "olga@example.org", [Role.ORGANISATION_ADMIN], "Olga Ortiz")
    url = f"/organisations/{organisation.id}"
    page = client.get(url).text
    assert "Publish review" in page and "anonymous feedback" not in page
    response = post_form(
        client, f"{url}/reviews", {"rating": "4", "body": "  Fair assessors.  "}, form_url=url
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    page = client.get(url).text
    assert "Your review on Nairobi Centre for Dispute Resolution is published." in page
    assert "Fair assessors." in page and "Olga Ortiz" in page
    assert "You reviewed Nairobi Centre" in page and "Publish review" not in page
    review = session.scalar(select(Review))
    assert (review.rating, review.body, review.author_id) == (4, "Fair assessors.", user.id)
    event = session.scalar(select(Event).where(Event.action == "review.posted"))
    assert event.actor_id == user.id and event.subject_id == str(review.id)
    assert event.data == {"organisation_id": organisation.id, "rating": 4, "is_anonymous": False}

    response = post_form(client, f"{url}/reviews", {"rating": "1", "body": "Again"}, form_url=url)
    assert response.status_code == 422
    assert "You have already reviewed Nairobi Centre for Dispute Resolution" in response.text
    assert count(session, Review) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rating": "0", "body": "Fine"}, "Choose a rating from 1 to 5."),
        ({"rating": "6", "body": "Fine"}, "Choose a rating from 1 to 5."),
        ({"rating": "four", "body": "Fine"}, "Choose a rating from 1 to 5."),
        ({"body": "Fine"}, "Choose a rating from 1 to 5."),
        ({"rating": "4", "body": "   "}, "Write a few words about your experience."),
        ({"rating": "4", "body": "x" * 2001}, "At most 2000 characters."),
        ({"rating": "4", "body": "Fine", "is_anonymous": "y"}, "Only registry support"),
    ],
)
def test_a_bad_review_changes_nothing(client, session, directory, data, message):
    sign_in(client, session, "mo@example.org", [Role.MEDIATOR])
    url = f"/organisations/{directory['lodz'].id}"
    response = post_form(client, f"{url}/reviews", data, form_url=url)
    assert response.status_code == 422 and message in response.text
    assert count(session, Review) == 0 and count(session, Event, Event.action.like("review.%")) == 0


def test_support_posts_anonymous_feedback_as_often_as_needed(client, session, directory):
    organisation = directory["amsterdam"]
    sign_in(client, session, "sam@example.org", [Role.SUPPORT], "Sam Support")
    url = f"/organisations/{organisation.id}"
    assert "Post as anonymous feedback without a name" in client.get(url).text
    for body in ("Told us by phone.", "Told us by letter."):
        response = post_form(
            client,
            f"{url}/reviews",
            {"rating": "2", "body": body, "is_anonymous": "y"},
            form_url=url,
        )
        assert response.status_code == 303
        flashed = "Your anonymous feedback on Amsterdam Mediation Academy is published."
        assert flashed in client.get(url).text
    post_form(client, f"{url}/reviews", {"rating": "5", "body": "My own view."}, form_url=url)
    reviews = session.scalars(select(Review).order_by(Review.id)).all()
    assert [r.is_anonymous for r in reviews] == [True, True, False]
    page = client.get(url).text
    assert page.count(">Anonymous feedback (posted by registry support)</span>") == 2
    assert "You have already posted a review with your name" in page


def test_strangers_are_sent_to_sign_in_and_unknown_organisations_are_404(
    client, session, directory
):
    url = f"/organisations/{directory['online'].id}/reviews"
    response = post_form(client, url, {"rating": "5", "body": "Great"}, form_url="/login")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    sign_in(client, session, "mo@example.org", [Role.MEDIATOR])
    response = post_form(
        client,
        "/organisations/999999/reviews",
        {"rating": "5", "body": "Great"},
        form_url="/account",
    )
    assert response.status_code == 404
    assert count(session, Review) == 0


# -- Moderation ----------------------------------------------------------------------------


def test_staff_hide_and_restore_a_review(client, session, directory):
    organisation = directory["amsterdam"]
    review = make_review(session, organisation, body="Buy cheap watches")
    staff = sign_in(client, session, "ada@example.org", [Role.ADMINISTRATOR])
    url = f"/organisations/{organisation.id}"
    hide = f"{url}/reviews/{review.id}/hide"
    field = f"hide-{review.id}-reason"

    response = post_form(client, hide, {field: "  "}, form_url=url)
    assert response.status_code == 303
    assert "Say why the review is hidden." in client.get(url).text
    assert review.hidden_at is None

    response = post_form(client, hide, {field: "Advertising"}, form_url=url)
    assert response.headers["Location"] == url
    session.refresh(review)
    assert review.hidden_reason == "Advertising" and review.hidden_by_id == staff.id
    event = session.scalar(select(Event).where(Event.action == "review.hidden"))
    assert event.reason == "Advertising" and event.actor_id == staff.id

    post_form(client, hide, {field: "Again"}, form_url=url)
    assert "This review is already hidden." in client.get(url).text
    session.refresh(review)
    assert review.hidden_reason == "Advertising"

    restore = f"{url}/reviews/{review.id}/restore"
    response = post_form(client, restore, {}, form_url=url)
    assert response.status_code == 303
    session.refresh(review)
    assert review.hidden_at is None and review.hidden_reason is None
    event = session.scalar(select(Event).where(Event.action == "review.restored"))
    assert event.data["hidden_reason"] == "Advertising"
    post_form(client, restore, {}, form_url=url)
    assert "This review is not hidden." in client.get(url).text
    assert count(session, Event, Event.action == "review.restored") == 1


def test_moderation_needs_a_staff_role_and_the_right_organisation(client, session, directory):
    review = make_review(session, directory["amsterdam"])
    other = directory["nairobi"]
    sign_in(client, session, "mo@example.org", [Role.MEDIATOR])
    url = f"/organisations/{review.organisation_id}/reviews/{review.id}/hide"
    response = post_form(client, url, {f"hide-{review.id}-reason": "No"}, form_url="/account")
    assert response.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    sign_in(client, session, "sam@example.org", [Role.SUPPORT])
    wrong = f"/organisations/{other.id}/reviews/{review.id}/hide"
    response = post_form(client, wrong, {f"hide-{review.id}-reason": "No"}, form_url="/account")
    assert response.status_code == 404
    assert review.hidden_at is None


# -- Services ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rating": 0}, "from 1 to 5"),
        ({"rating": 6}, "from 1 to 5"),
        ({"rating": True}, "from 1 to 5"),
        ({"body": " \n "}, "cannot be empty"),
        ({"body": "x" * 2001}, "the limit is 2000"),
        ({"is_anonymous": True}, "Only registry support"),
    ],
)
def test_post_review_refuses_what_the_rules_do_not_allow(ctx, session, changes, message):
    organisation = make_organisation(session)
    author = make_user(session, roles=[Role.MEDIATOR, Role.EXECUTIVE_DIRECTOR])
    arguments = {"rating": 4, "body": "Fine", "is_anonymous": False, **changes}
    with pytest.raises(services.ReviewError, match=message):
        services.post_review(session, organisation, actor=author, now=utcnow(), **arguments)
    assert count(session, Review) == 0


def test_a_hidden_review_still_counts_as_the_authors_one_review(ctx, session):
    organisation = make_organisation(session)
    author = make_user(session)
    make_review(session, organisation, author=author, hidden_reason="Off topic")
    with pytest.raises(services.ReviewError, match="already reviewed"):
        services.post_review(
            session,
            organisation,
            rating=5,
            body="Try again",
            is_anonymous=False,
            actor=author,
            now=utcnow(),
        )
    assert count(session, Review) == 1


def test_hiding_needs_a_reason(ctx, session):
    review = make_review(session, make_organisation(session))
    staff = make_user(session, email="sam@example.org", roles=[Role.SUPPORT])
    with pytest.raises(services.ReviewError, match="The reason cannot be empty"):
        services.hide_review(session, review, reason=" ", actor=staff, now=utcnow())
    assert review.hidden_at is None
    assert count(session, Event, Event.action == "review.hidden") == 0


def test_two_signed_reviews_posted_at_once_are_refused_by_the_database(ctx, session, monkeypatch):
    organisation = make_organisation(session)
    author = make_user(session)
    make_review(session, organisation, author=author)
    # The second request checked before the first one's review was there.
    monkeypatch.setattr(services, "signed_review_by", lambda *args: None)
    with pytest.raises(services.ReviewError, match="already reviewed"):
        services.post_review(
            session,
            organisation,
            rating=5,
            body="Twice",
            is_anonymous=False,
            actor=author,
            now=utcnow(),
        )
    assert count(session, Review) == 1
    assert count(session, Event, Event.action == "review.posted") == 1


def test_an_organisation_admin_cannot_review_their_own_organisation(client, session, directory):
    own, other = directory["nairobi"], directory["amsterdam"]
    user = sign_in(client, session, "olga@example.org", [Role.ORGANISATION_ADMIN], "Olga Ortiz")
    staff = make_user(session, email="admin@example.org", roles=[Role.ADMINISTRATOR])
    services.add_organisation_admin(session, own, email=user.email, actor=staff, now=utcnow())
    url = f"/organisations/{own.id}"
    page = client.get(url).text
    assert "Publish review" not in page
    assert "You administer Nairobi Centre for Dispute Resolution; its reviews come from" in page
    response = post_form(
        client, f"{url}/reviews", {"rating": "5", "body": "We are great."}, form_url=url
    )
    assert response.status_code == 422
    assert "You administer Nairobi Centre" in response.text
    assert count(session, Review) == 0
    # Another organisation is theirs to review.
    assert "Publish review" in client.get(f"/organisations/{other.id}").text


def test_post_review_refuses_an_admin_of_the_organisation(ctx, session):
    organisation = make_organisation(session)
    admin = make_user(session, email="own@example.org", roles=[Role.SUPPORT])
    staff = make_user(session, email="staff@example.org", roles=[Role.ADMINISTRATOR])
    services.add_organisation_admin(
        session, organisation, email=admin.email, actor=staff, now=utcnow()
    )
    for anonymous in (False, True):
        with pytest.raises(services.ReviewError, match="You administer"):
            services.post_review(
                session,
                organisation,
                rating=5,
                body="Fine",
                is_anonymous=anonymous,
                actor=admin,
                now=utcnow(),
            )
    assert count(session, Review) == 0
