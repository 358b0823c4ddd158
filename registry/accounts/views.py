"""Sign-in, registration, password reset and the account page."""

import math
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from registry.accounts import services, throttle
from registry.accounts.forms import (
    BROWSER_LANGUAGE,
    ChangePasswordForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    SignOutEverywhereForm,
)
from registry.accounts.models import Role, User
from registry.accounts.permissions import public, signed_in
from registry.accounts.throttle import DEVICE_COOKIE
from registry.database import utcnow
from registry.extensions import db, limiter
from registry.i18n import DEFAULT_LOCALE, LANGUAGES, LOCALE_COOKIE, OUTER_ROOT_KEY, current_language
from registry.web import local_path

bp = Blueprint("accounts", __name__)


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# Where each role's work is, in the order that decides for a person with several roles:
# the complaint handlers' queue, then audits, the organisation dashboard, the mediator's
# certification (with the checklist), peer reviews; an administrator's mediator list.
LANDING_PAGES = (
    ((Role.SUPPORT, Role.EXECUTIVE_DIRECTOR), "complaint_staff.queue"),
    ((Role.APPRAISER,), "audit_committee.appraiser_home"),
    ((Role.ORGANISATION_ADMIN,), "organisations.my_organisations"),
    ((Role.MEDIATOR,), "mediators.my_certification"),
    ((Role.PEER_REVIEWER,), "digests.reviewer_home"),
    ((Role.COMMITTEE_MEMBER, Role.BOARD_MEMBER), "complaint_staff.queue"),
    ((Role.ADMINISTRATOR,), "mediators.staff_list"),
)


def landing_page(user: User) -> str:
    """Return where ``user`` lands after signing in: their role's work, else My account."""
    for roles, endpoint in LANDING_PAGES:
        if user.has_role(*roles):
            return url_for(endpoint)
    return url_for("accounts.account")


def _safe_next(target: str | None, user: User) -> str:
    """Return ``target`` if it is a path on this site, else the user's landing page."""
    return local_path(target) or landing_page(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
@public
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(landing_page(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("accounts/login.html", form=form)
    now = utcnow()
    key = throttle.throttle_key(db.session, form.email.data, request.cookies.get(DEVICE_COOKIE))
    wait = throttle.sign_in_wait(db.session, key, now)
    if wait is not None:
        seconds = math.ceil(wait.total_seconds())
        flash(
            ngettext(
                "Too many failed sign-ins with this address. Wait %(num)s second and try again,"
                " or ask for a password reset link.",
                "Too many failed sign-ins with this address. Wait %(num)s seconds and try again,"
                " or ask for a password reset link.",
                seconds,
            ),
            "error",
        )
        return render_template("accounts/login.html", form=form), 429
    user = services.authenticate(
        db.session, email=form.email.data, password=form.password.data, now=now
    )
    if user is None:
        throttle.record_failed_sign_in(db.session, key, now)
        db.session.commit()
        flash(_("The e-mail address or password is not correct."), "error")
        return render_template("accounts/login.html", form=form)
    throttle.clear_failed_sign_ins(db.session, key)
    _start_sign_in(user, remember=form.remember.data)
    db.session.commit()
    login_user(user, remember=form.remember.data)
    flash(_("Signed in as %(name)s.", name=user.name), "success")
    return _trusting_this_browser(redirect(_safe_next(request.args.get("next"), user), 303), user)


def _trusting_this_browser(response: Response, user: User) -> Response:
    """Give the browser a trusted-device cookie for ``user``: the throttle counts it apart."""
    response.set_cookie(
        DEVICE_COOKIE,
        throttle.device_cookie(user),
        max_age=int(throttle.DEVICE_TRUST.total_seconds()),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _start_sign_in(user: User, *, remember: bool = False) -> None:
    """Open this browser's sign-in, lasting as long as its session or remember-me cookie."""
    config = current_app.config
    lifetime = (
        config["REMEMBER_COOKIE_DURATION"] if remember else config["PERMANENT_SESSION_LIFETIME"]
    )
    services.start_sign_in(db.session, user, now=utcnow(), lifetime=lifetime)


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    if current_user.is_authenticated:
        services.end_sign_in(db.session, current_user, now=utcnow())
        db.session.commit()
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.home"), 303)


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@signed_in
def sign_out_everywhere() -> Response:
    if SignOutEverywhereForm().validate_on_submit():
        count = services.end_all_sign_ins(db.session, current_user, now=utcnow())
        db.session.commit()
        logout_user()
        flash(
            _("You are signed out on every device (%(count)s), this one included.", count=count),
            "success",
        )
        return redirect(url_for("accounts.login"), 303)
    return redirect(url_for("accounts.account"), 303)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
@public
def register() -> Response | str:
    if current_user.is_authenticated:
        flash(_("You are signed in already. Sign out first to register another account."), "info")
        return redirect(url_for("accounts.account"))
    form = RegistrationForm()
    if form.validate_on_submit():
        minutes = current_app.config["PASSWORD_RESET_TTL_MINUTES"]
        services.register_mediator(
            db.session,
            email=form.email.data,
            name=form.name.data,
            now=utcnow(),
            ttl=timedelta(minutes=minutes),
            locale=current_language(),
        )
        db.session.commit()
        # The same answer whether or not the address has an account: its owner learns by mail.
        flash(
            ngettext(
                "Check your e-mail: we sent a message to %(email)s. Its link lets you choose your"
                " password; it works once, within %(num)s minute.",
                "Check your e-mail: we sent a message to %(email)s. Its link lets you choose your"
                " password; it works once, within %(num)s minutes.",
                minutes,
                email=services.normalise_email(form.email.data),
            ),
            "success",
        )
        return redirect(url_for("accounts.login"), 303)
    return render_template("accounts/register.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
@public
def forgot_password() -> Response | str:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        minutes = current_app.config["PASSWORD_RESET_TTL_MINUTES"]
        services.request_password_reset(
            db.session,
            email=form.email.data,
            now=utcnow(),
            ttl=timedelta(minutes=minutes),
        )
        db.session.commit()
        flash(
            ngettext(
                "If an account uses that address, a reset link is on its way. "
                "It works once, within %(num)s minute.",
                "If an account uses that address, a reset link is on its way. "
                "It works once, within %(num)s minutes.",
                minutes,
            ),
            "success",
        )
        return redirect(url_for("accounts.login"), 303)
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
@public
def reset_password(token: str) -> Response | str:
    try:
        reset = services.find_reset_token(db.session, token, utcnow())
    except services.AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("accounts.forgot_password"), 303)
    form = ResetPasswordForm(context=(reset.user.email, reset.user.name))
    if form.validate_on_submit():
        user = services.reset_password(
            db.session, token=token, new_password=form.password.data, now=utcnow()
        )
        db.session.commit()
        logout_user()
        flash(_("Your password is changed. Sign in with the new one."), "success")
        # The link proved this browser's person owns the address: an attack on it cannot
        # keep them out.
        return _trusting_this_browser(redirect(url_for("accounts.login"), 303), user)
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account() -> Response | str:
    form = ChangePasswordForm(context=(current_user.email, current_user.name))
    if form.validate_on_submit():
        try:
            services.change_password(
                db.session,
                user=current_user,
                current_password=form.current_password.data,
                new_password=form.password.data,
                now=utcnow(),
            )
        except services.AccountError as error:
            form.current_password.errors.append(str(error))
        else:
            # Every sign-in ended with the old password: open a new one for this browser.
            user = current_user._get_current_object()
            _start_sign_in(user)
            db.session.commit()
            login_user(user)
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("accounts.account"), 303)
    return render_template(
        "accounts/account.html",
        form=form,
        everywhere_form=SignOutEverywhereForm(),
        language_form=_language_form(),
    )


def _language_form() -> LanguageForm:
    return LanguageForm(language=current_user.locale or BROWSER_LANGUAGE)


@bp.route("/account/language", methods=["POST"])
@signed_in
def language() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the languages offered."), "error")
        return redirect(url_for("accounts.account"), 303)
    chosen = form.language.data or None
    services.set_language(db.session, current_user, chosen, now=utcnow())
    db.session.commit()
    # The next page is in the new language: under its prefix, or negotiated without one.
    with force_locale(chosen or _browser_language()):
        flash(_("Your language is saved."), "success")
    root = request.environ.get(OUTER_ROOT_KEY, "")
    prefix = f"/{chosen}" if chosen else ""
    path = url_for("accounts.account")[len(request.script_root) :]
    return redirect(f"{root}{prefix}{path}", 303)


def _browser_language() -> str:
    """Return the language a page without a prefix is negotiated to once no choice is kept."""
    remembered = request.cookies.get(LOCALE_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LOCALE)
