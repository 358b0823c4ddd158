"""Accounts through the web: sign-in, registration, CSRF, rate limit, resets, remember-me."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.accounts.jobs import purge_sign_ins
from registry.accounts.models import PasswordResetToken, Role, SignIn, User
from registry.accounts.services import AccountError, check_password_rules, start_sign_in
from registry.clock import local_today
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, make_user


def sign_in(client, email="person@example.org", password=PASSWORD, **extra):
    return post_form(client, "/login", {"email": email, "password": password, **extra})


def test_sign_in_and_out(client, session):
    make_user(session)
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/my/certification"
    page = client.get("/account").get_data(as_text=True)
    assert "person@example.org" in page
    assert "Mediator / advocate" in page

    response = post_form(client, "/logout", {}, form_url="/account")
    assert response.status_code == 303
    assert client.get("/account").status_code == 302  # back to sign-in


def test_sign_in_records_the_event(client, session):
    user = make_user(session)
    sign_in(client)
    actions = session.scalars(select(Event.action).where(Event.subject_id == str(user.id)))
    assert "account.signed_in" in list(actions)


@pytest.mark.parametrize(
    ("email", "password"),
    [("person@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)],
)
def test_wrong_credentials_get_one_answer(client, session, email, password):
    make_user(session)
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 200
    assert "The e-mail address or password is not correct." in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_disabled_account_cannot_sign_in(client, session):
    user = make_user(session)
    user.disabled_at = utcnow()
    session.flush()
    assert "not correct" in sign_in(client).get_data(as_text=True)


def test_sign_in_is_rate_limited(client, session):
    make_user(session)
    token = csrf_token(client, "/login")
    # Each attempt at another address, so only the per-address limit counts them.
    codes = [
        client.post(
            "/login",
            data={"csrf_token": token, "email": f"x{n}@example.org", "password": "guess-guess"},
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429
    page = client.post("/login", data={"csrf_token": token}).get_data(as_text=True)
    assert "Too many attempts" in page
    # The limit holds for the right password too, and GET stays open.
    assert sign_in(client).status_code == 429
    assert client.get("/login").status_code == 200


def test_post_without_csrf_token_is_refused(client, session):
    make_user(session)
    response = client.post("/login", data={"email": "person@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "form had expired" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert sign_in(client).status_code == 303


def test_post_with_a_forged_csrf_token_is_refused(client, session):
    make_user(session)
    response = client.post(
        "/login", data={"csrf_token": "forged", "email": "person@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400


def register(client, email=" Lukasz@Example.org ", name="Łukasz Nowak"):
    return post_form(client, "/register", {"name": name, "email": email})


def test_register_a_mediator(client, session):
    response = register(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert "Check your e-mail: we sent a message to lukasz@example.org." in client.get(
        "/login"
    ).get_data(as_text=True)
    user = session.scalar(select(User).where(User.email == "lukasz@example.org"))
    assert user.roles == {Role.MEDIATOR}
    assert client.get("/account").status_code == 302  # nobody is signed in yet
    welcome = session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == user.email))
    assert welcome.subject == "Welcome to the Mediator Registry: choose your password"
    registered = session.scalar(select(Event).where(Event.action == "account.registered"))
    assert registered.actor_id == user.id

    link = reset_link(session, "lukasz@example.org")
    chosen = "a brand new passphrase"
    assert post_form(client, link, {"password": chosen, "confirm": chosen}).status_code == 303
    assert sign_in(client, "lukasz@example.org", chosen).status_code == 303
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")


def test_registering_in_german_keeps_german_for_pages_and_mail(client, session):
    response = post_form(client, "/de/register", {"name": "Jana Weiß", "email": "jana@example.org"})
    assert response.status_code == 303
    user = session.scalar(select(User).where(User.email == "jana@example.org"))
    assert user.locale == "de"
    welcome = session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == user.email))
    assert welcome.subject == "Willkommen beim Mediator Registry: Wählen Sie Ihr Passwort"
    assert welcome.body_text.startswith("Guten Tag Jana Weiß,")


def test_registering_a_taken_address_answers_the_same_and_tells_its_owner(client, session):
    owner = make_user(session, email="taken@example.org")
    before = session.query(User).count()
    response = register(client, email="Taken@example.org", name="Mallory")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Check your e-mail: we sent a message to taken@example.org." in page
    assert "already" not in page
    assert session.query(User).count() == before
    assert owner.name == "Pat Person"
    (notice,) = session.scalars(select(OutboxMessage))
    assert notice.to_address == "taken@example.org"
    assert notice.subject == "You already have a Mediator Registry account"
    assert "http://registry.test/password/forgot" in notice.body_text
    assert sign_in(client, "taken@example.org").status_code == 303  # the password is unchanged


def test_a_new_and_a_taken_address_get_the_same_page(client, session, app):
    make_user(session, email="taken@example.org")
    pages = []
    for email in ("taken@example.org", "fresh@example.org"):
        browser = app.test_client()
        register(browser, email=email, name="Someone")
        text = browser.get("/login").get_data(as_text=True)
        pages.append(re.sub(r'name="csrf_token"[^>]*>', "", text.replace(email, "ADDRESS")))
    assert pages[0] == pages[1]


def test_register_while_signed_in_goes_to_the_account(client, session):
    make_user(session)
    sign_in(client)
    response = client.get("/register")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "email": "a@example.org"}, "This field is required."),
        ({"email": "not-an-address"}, "Enter a valid e-mail address."),
    ],
)
def test_registration_refuses_bad_input(client, session, data, message):
    response = post_form(client, "/register", {"name": "Ana", "email": "ana@example.org", **data})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert session.query(User).count() == 0
    assert session.query(OutboxMessage).count() == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use between 10 and 256 characters."),
        ("passwordpassword", "one of the most commonly used"),
        ("1111111111", "one of the most commonly used"),
        ("Lukasz@Example.org", "made of your name, your e-mail address"),
    ],
)
def test_a_chosen_password_is_checked(client, session, password, message):
    register(client)
    response = post_form(
        client,
        reset_link(session, "lukasz@example.org"),
        {"password": password, "confirm": password},
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def reset_link(session, email):
    message = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"http://registry\.test(/password/reset/\S+)", message.body_text).group(1)


def test_password_reset_link_works_once(client, session):
    make_user(session)
    response = post_form(client, "/password/forgot", {"email": "Person@example.org"})
    assert response.status_code == 303
    link = reset_link(session, "person@example.org")
    new = "a brand new passphrase"
    assert post_form(client, link, {"password": new, "confirm": new}).status_code == 303
    assert "not correct" in sign_in(client).get_data(as_text=True)
    assert sign_in(client, password=new).status_code == 303
    post_form(client, "/logout", {}, form_url="/account")

    again = client.get(link, follow_redirects=True)
    assert "invalid, used or expired" in again.get_data(as_text=True)
    token = csrf_token(client, "/login")
    reused = client.post(
        link,
        data={"csrf_token": token, "password": "another one here!", "confirm": "another one here!"},
    )
    assert reused.status_code == 303
    assert sign_in(client, password="another one here!").status_code == 200


def test_password_reset_link_expires(client, session):
    make_user(session)
    post_form(client, "/password/forgot", {"email": "person@example.org"})
    link = reset_link(session, "person@example.org")
    token = session.scalar(select(PasswordResetToken))
    token.created_at = utcnow() - timedelta(hours=2)
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    response = client.get(link, follow_redirects=True)
    assert "invalid, used or expired" in response.get_data(as_text=True)


def test_password_reset_for_unknown_address_sends_nothing(client, session):
    response = post_form(client, "/password/forgot", {"email": "nobody@example.org"})
    assert response.status_code == 303
    assert session.query(OutboxMessage).count() == 0
    assert session.query(PasswordResetToken).count() == 0


def test_reset_page_leaks_no_referrer(client, session):
    make_user(session)
    post_form(client, "/password/forgot", {"email": "person@example.org"})
    response = client.get(reset_link(session, "person@example.org"))
    assert response.headers["Referrer-Policy"] == "no-referrer"


def remember_cookie(client):
    return client.get_cookie("remember_token")


def test_remember_me_cookie_is_hardened(client, session, app):
    make_user(session)
    response = sign_in(client, remember="y")
    header = next(h for h in response.headers.getlist("Set-Cookie") if "remember_token" in h)
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=14)


def test_remember_me_is_revoked_by_a_password_change(client, session, app):
    make_user(session)
    sign_in(client, remember="y")
    client.delete_cookie("session")
    assert client.get("/account").status_code == 200  # restored from the remember cookie

    other_device = app.test_client()
    sign_in(other_device)
    new = "a different passphrase"
    response = post_form(
        other_device, "/account", {"current_password": PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 303
    assert other_device.get("/account").status_code == 200  # this device stays signed in

    client.delete_cookie("session")
    assert client.get("/account").status_code == 302
    actions = list(session.scalars(select(Event.action)))
    assert "account.password_changed" in actions


def test_change_password_needs_the_current_one(client, session):
    make_user(session)
    sign_in(client)
    new = "a different passphrase"
    response = post_form(
        client, "/account", {"current_password": "not it at all", "password": new, "confirm": new}
    )
    assert "The current password is not correct." in response.get_data(as_text=True)
    post_form(client, "/logout", {}, form_url="/account")
    assert sign_in(client).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil",
        "////evil.example",
        "///evil.example",
        "/\t/evil.example",
        "/%0a/evil.example".replace("%0a", "\n"),
        "javascript:alert(1)",
    ],
)
def test_sign_in_never_redirects_off_site(client, session, target):
    make_user(session)
    token = csrf_token(client, "/login")
    response = client.post(
        f"/login?next={target}",
        data={"csrf_token": token, "email": "person@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/my/certification"


@pytest.mark.parametrize(
    ("roles", "landing"),
    [
        ([Role.MEDIATOR], "/my/certification"),
        ([Role.ORGANISATION_ADMIN], "/organisation"),
        ([Role.APPRAISER], "/appraiser"),
        ([Role.PEER_REVIEWER], "/reviewer"),
        ([Role.SUPPORT], "/staff/complaints"),
        ([Role.EXECUTIVE_DIRECTOR], "/staff/complaints"),
        ([Role.COMMITTEE_MEMBER], "/staff/complaints"),
        ([Role.BOARD_MEMBER], "/staff/complaints"),
        ([Role.ADMINISTRATOR], "/staff/mediators"),
        ([Role.SUPPORT, Role.ADMINISTRATOR], "/staff/complaints"),
        ([Role.MEDIATOR, Role.PEER_REVIEWER], "/my/certification"),
    ],
)
def test_sign_in_lands_on_the_roles_work(client, session, roles, landing):
    make_user(session, roles=roles)
    response = sign_in(client)
    assert response.headers["Location"] == landing
    assert client.get(landing).status_code == 200
    assert client.get("/login").headers["Location"] == landing


def test_a_safe_next_wins_over_the_landing_page(client, session):
    make_user(session, roles=[Role.SUPPORT])
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=/staff/mediators",
        data={"csrf_token": token, "email": "person@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/staff/mediators"


def test_sign_in_follows_a_path_on_this_site(client, session):
    make_user(session)
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=/my/feedback%3Fpage%3D2",
        data={"csrf_token": token, "email": "person@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/my/feedback?page=2"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("passwordpassword", "commonly used"),
        ("1111111111", "commonly used"),
        ("qwertyuiop", "commonly used"),
        ("Password123", "commonly used"),
        ("ILOVEYOU12", "commonly used"),
        ("zqzqzqzqzqzqzq", "repeats or counts"),
        ("xkcdxkcdxkcdxkcd", "repeats or counts"),
        ("klmnopqrstu", "repeats or counts"),
        ("9876543210z", "commonly used"),
        ("zzzzzyyyyyx", "repeats or counts"),
        ("Registry 2026!", "the site's name"),
        ("Mediator-12345", "the site's name"),
        ("Person#2026#", "your name, your e-mail address"),
        ("PAT PERSON 1975", "your name, your e-mail address"),
    ],
)
def test_common_repetitive_and_personal_passwords_are_refused(password, reason):
    with pytest.raises(AccountError, match=reason):
        check_password_rules(password, context=("person@example.org", "Pat Person"))


@pytest.mark.parametrize(
    "password", [PASSWORD, "registry-demo-2026", "a brand new passphrase", "Tr0ub4dor&3xyz"]
)
def test_ordinary_passphrases_are_accepted(password):
    check_password_rules(password, context=("person@example.org", "Pat Person"))


def test_a_new_password_must_not_be_a_common_one(client, session):
    make_user(session)
    sign_in(client)
    response = post_form(
        client,
        "/account",
        {"current_password": PASSWORD, "password": "1234567890", "confirm": "1234567890"},
    )
    assert "one of the most commonly used" in response.get_data(as_text=True)
    assert sign_in(app_client := client.application.test_client()).status_code == 303
    assert app_client.get("/account").status_code == 200


def test_a_reset_password_must_not_be_made_of_the_address(client, session):
    make_user(session)
    post_form(client, "/password/forgot", {"email": "person@example.org"})
    link = reset_link(session, "person@example.org")
    weak = "person@example.org"
    response = post_form(client, link, {"password": weak, "confirm": weak})
    assert response.status_code == 200
    assert "made of your name, your e-mail address" in response.get_data(as_text=True)
    assert sign_in(client).status_code == 303


def copy_cookies(source, target, *names):
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def test_a_session_copied_before_signing_out_no_longer_signs_in(client, session, app):
    make_user(session)
    sign_in(client)
    thief = app.test_client()
    copy_cookies(client, thief, "session")
    assert thief.get("/account").status_code == 200
    post_form(client, "/logout", {}, form_url="/account")
    assert thief.get("/account").status_code == 302
    assert client.get("/account").status_code == 302


def test_a_remember_me_cookie_copied_before_signing_out_no_longer_signs_in(client, session, app):
    make_user(session)
    sign_in(client, remember="y")
    thief = app.test_client()
    copy_cookies(client, thief, "remember_token")
    assert thief.get("/account").status_code == 200  # restored from the remember cookie
    post_form(client, "/logout", {}, form_url="/account")
    thief.delete_cookie("session")
    assert thief.get("/account").status_code == 302
    events = list(session.scalars(select(Event.action)))
    assert "account.signed_out" in events


def test_signing_out_one_browser_keeps_the_others(client, session, app):
    make_user(session)
    sign_in(client)
    laptop = app.test_client()
    sign_in(laptop)
    post_form(client, "/logout", {}, form_url="/account")
    assert laptop.get("/account").status_code == 200


def test_sign_out_everywhere(client, session, app):
    make_user(session)
    phone, laptop = app.test_client(), app.test_client()
    sign_in(phone, remember="y")
    sign_in(laptop)
    sign_in(client)
    assert "Sign out everywhere" in client.get("/account").get_data(as_text=True)
    response = post_form(client, "/account/sign-out-everywhere", {}, form_url="/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "You are signed out on every device (3), this one included." in page
    phone.delete_cookie("session")  # the remember-me cookie is dead too
    for browser in (client, phone, laptop):
        assert browser.get("/account").status_code == 302
    assert session.scalar(select(func.count(SignIn.id))) == 0
    assert sign_in(client).status_code == 303


def test_a_sign_in_ends_when_its_time_is_up(client, session):
    make_user(session)
    sign_in(client)
    (open_sign_in,) = session.scalars(select(SignIn))
    open_sign_in.created_at = utcnow() - timedelta(hours=13)
    open_sign_in.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert client.get("/account").status_code == 302


def test_a_sign_in_lasts_the_session_or_the_remember_me_cookie(client, session, app):
    make_user(session)
    sign_in(client)
    sign_in(app.test_client(), remember="y")
    short, long = sorted(
        sign.expires_at - sign.created_at for sign in session.scalars(select(SignIn))
    )
    assert short == app.config["PERMANENT_SESSION_LIFETIME"]
    assert long == app.config["REMEMBER_COOKIE_DURATION"]


def test_the_purge_job_deletes_expired_sign_ins(ctx, session):
    user = make_user(session)
    start_sign_in(session, user, now=utcnow() - timedelta(days=3), lifetime=timedelta(hours=12))
    start_sign_in(session, user, now=utcnow(), lifetime=timedelta(hours=12))
    assert purge_sign_ins(session, local_today(), utcnow()) == {"purged": 1, "throttles_purged": 0}
    assert session.scalar(select(func.count(SignIn.id))) == 1


def test_the_language_chosen_in_the_account_is_kept_and_served(client, session):
    user = make_user(session)
    sign_in(client)
    page = client.get("/account").get_data(as_text=True)
    assert '<option selected value="">As my browser asks</option>' in page
    assert '<option lang="fr" value="fr">Français</option>' in page

    response = post_form(client, "/account/language", {"language": "fr"}, form_url="/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/fr/account"
    session.refresh(user)
    assert user.locale == "fr"
    changed = session.scalar(select(Event).where(Event.action == "account.language_changed"))
    assert changed.data == {"from": None, "to": "fr"}

    # Without a prefix, and whatever the browser asks, the page is in the chosen language.
    client.delete_cookie("registry_locale")
    page = client.get("/account", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert '<option lang="fr" selected value="fr">Français</option>' in page

    response = post_form(client, "/account/language", {"language": ""}, form_url="/account")
    assert response.headers["Location"] == "/account"
    session.refresh(user)
    assert user.locale is None
    page = client.get("/account", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="de">' in page


def test_an_unknown_language_is_refused(client, session):
    user = make_user(session)
    sign_in(client)
    response = post_form(client, "/account/language", {"language": "xx"}, form_url="/account")
    assert response.status_code == 303
    session.refresh(user)
    assert user.locale is None


def test_every_page_offers_its_languages(client, session):
    response = client.get("/mediators?q=M%C3%BCller", base_url="https://registry.example")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert (
        '<link rel="alternate" hreflang="fr" href="https://registry.example/fr/mediators?q=M%C3%BCller">'
        in page
    )
    assert (
        '<link rel="alternate" hreflang="x-default" href="https://registry.example/mediators?q=M%C3%BCller">'
        in page
    )
    assert '<nav class="language-switcher" aria-label="Language">' in page
    assert (
        '<a href="/en/mediators?q=M%C3%BCller" lang="en" hreflang="en"'
        ' aria-current="true">English</a>' in page
    )
    assert '<a href="/de/mediators?q=M%C3%BCller" lang="de" hreflang="de">Deutsch</a>' in page


def test_after_a_form_the_languages_lead_home(client, session):
    page = post_form(client, "/login", {"email": "nobody@example.org", "password": "x"})
    html = page.get_data(as_text=True)
    assert '<a href="/fr/" lang="fr" hreflang="fr">Français</a>' in html
    assert 'rel="alternate"' not in html


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/mediators",
        "/mediators?q=zzzz",
        "/verify",
        "/verify?number=MR-2024-999999",
        "/verify?number=MR-2024-999999&as_of=1999-01-01",
        "/verify-training",
        "/organisations",
        "/login",
        "/register",
        "/password/forgot",
        "/no-such-page",
    ],
)
@pytest.mark.parametrize("language", ["fr", "de"])
def test_public_pages_are_served_under_each_language(client, session, language, path):
    response = client.get(f"/{language}{path}")
    refused = {"/verify?number=MR-2024-999999": 404, "/no-such-page": 404}
    expected = 400 if "as_of" in path else refused.get(path, 200)
    assert response.status_code == expected, response.status_code
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    assert f'<a href="/{language}{path}" lang="{language}" hreflang="{language}"' in html.replace(
        "&amp;", "&"
    )
