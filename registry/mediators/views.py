"""A mediator's own pages and the staff pages for profiles and credentials."""

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from registry.accounts.models import Role
from registry.accounts.permissions import role_required
from registry.clock import local_today
from registry.contributions import stripe_payments
from registry.contributions.forms import PaymentForm, PayNowForm, VoidPaymentForm, WaiverForm
from registry.contributions.models import Invoice
from registry.contributions.services import CLOSED_STATUSES
from registry.database import utcnow
from registry.extensions import db
from registry.formatting import format_day
from registry.i18n import _l
from registry.mediators import services
from registry.mediators.checklist import (
    certification_steps,
    prerequisites_on,
    profile_checklist,
)
from registry.mediators.forms import (
    ConductForm,
    GrantForm,
    MediatorFilterForm,
    NameChangeDecisionForm,
    NewMediatorForm,
    ProfileForm,
    ProgramRecordForm,
    SpecialisationBasesForm,
    SpecialisationGrantForm,
)
from registry.mediators.models import (
    Certification,
    CertificationType,
    Mediator,
    NameChange,
    Specialisation,
    SpecialisationGrant,
)
from registry.mediators.outlook import outlook
from registry.mediators.queries import (
    assessing_program_choices,
    profile_of,
    program_choices,
    specialisation_bases,
    specialisation_choices,
    staff_mediator_list,
)
from registry.mediators.specialisations import (
    grant_specialisation,
    set_specialisation_bases,
    withdraw_specialisation,
)
from registry.mediators.status import mediator_standing, mediator_standings, primary_standing
from registry.organisations.models import ASSESSMENT_TYPES, ProgramType
from registry.pagination import paginate
from registry.web import confirmation, flash_form_errors

bp = Blueprint("mediators", __name__)

# Staff who keep the register: grants, conduct outcomes, records behind certification.
REGISTRY_STAFF = (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR)
PAGE_SIZE = 50


def _invoices(mediator: Mediator) -> list[Invoice]:
    ids = [c.id for c in mediator.certifications]
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.certification_id.in_(ids))
            .order_by(Invoice.period_start.desc())
        )
    )


def _overview(mediator: Mediator) -> dict[str, Any]:
    """What both the mediator's page and the staff page show about a mediator."""
    today = local_today()
    standings = mediator_standings(db.session, mediator, today)
    return {
        "mediator": mediator,
        "standing": primary_standing(standings),
        # Each type's latest grant (a person may be a mediator and an advocate).
        "standings": standings,
        "outlooks": [outlook(standing) for standing in standings],
        # Invoices of a struck or revoked certification can no longer be paid or waived; one
        # contribution (the payer's invoices) covers all of a person's certifications.
        "payable_ids": {
            s.certification.payer_id
            for s in standings
            if s.certification and s.status not in CLOSED_STATUSES
        },
        "profile_items": profile_checklist(mediator),
        "prerequisites": prerequisites_on(db.session, mediator, today),
        "invoices": _invoices(mediator),
        "today": today,
    }


# -- The mediator's own pages -------------------------------------------------------------


@bp.route("/my/certification")
@role_required(Role.MEDIATOR)
def my_certification() -> Response | str:
    mediator = profile_of(db.session, current_user)
    if mediator is None:
        return render_template("mediators/my_certification.html", mediator=None)
    online = stripe_payments.is_configured()
    response = make_response(
        render_template(
            "mediators/my_certification.html",
            waiver_form=WaiverForm(),
            pay_form=PayNowForm(),
            online_payment=online,
            checkout=request.args.get("checkout"),
            **_overview(mediator),
        )
    )
    if online:
        response.headers["Content-Security-Policy"] = stripe_payments.content_security_policy()
    return response


@bp.route("/my/checklist")
@role_required(Role.MEDIATOR)
def my_checklist() -> str:
    """Every step from applicant to certified, with its state and the next action."""
    mediator = profile_of(db.session, current_user)
    if mediator is None:
        return render_template("mediators/my_checklist.html", mediator=None)
    today = local_today()
    standing = mediator_standing(db.session, mediator, today)
    steps = certification_steps(prerequisites_on(db.session, mediator, today), standing)
    return render_template(
        "mediators/my_checklist.html",
        mediator=mediator,
        standing=standing,
        steps=steps,
        next_step=next((step for step in steps if not step.is_done), None),
        profile_items=profile_checklist(mediator),
        today=today,
    )


def _profile_form(mediator: Mediator | None) -> ProfileForm:
    form = ProfileForm(obj=mediator)
    if mediator is not None and request.method == "GET":
        form.country.data = mediator.country or ""
    return form


def _profile_values(form: ProfileForm) -> dict[str, Any]:
    return {
        "name": form.name.data,
        "country": form.country.data or None,
        "languages": form.languages.data,
        "biography": form.biography.data,
        "contact": form.contact.data,
        "practice_areas": form.practice_areas.data,
    }


@bp.route("/my/profile", methods=["GET", "POST"])
@role_required(Role.MEDIATOR)
def my_profile() -> Response | str:
    mediator = profile_of(db.session, current_user)
    form = _profile_form(mediator)
    if form.validate_on_submit():
        try:
            if mediator is None:
                services.create_profile(
                    db.session,
                    email=current_user.email,
                    user=current_user,
                    now=utcnow(),
                    actor=current_user,
                    **_profile_values(form),
                )
            else:
                mediator.user = current_user
                services.update_profile(
                    db.session,
                    mediator,
                    now=utcnow(),
                    actor=current_user,
                    **_profile_values(form),
                )
        except services.MediatorError as error:
            form.name.errors.append(str(error))
        else:
            pending = mediator.pending_name_change if mediator else None
            requested_name = pending.requested_name if pending else None
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            if requested_name:
                flash(
                    _(
                        "Your change of name to %(name)s awaits the registry's "
                        "approval; until then the register shows your name as before.",
                        name=requested_name,
                    ),
                    "info",
                )
            return redirect(url_for("mediators.my_certification"), 303)
    return render_template("mediators/profile_form.html", form=form, mediator=mediator, own=True)


# -- Staff pages ---------------------------------------------------------------------------


def mediator_or_404(public_id: str) -> Mediator:
    if not public_id.isalnum():  # e.g. NUL, which PostgreSQL refuses in a parameter
        abort(404)
    mediator = db.session.scalar(select(Mediator).where(Mediator.public_id == public_id))
    if mediator is None:
        abort(404)
    return mediator


@bp.route("/staff/mediators")
@role_required(*REGISTRY_STAFF)
def staff_list() -> str:
    form = MediatorFilterForm(request.args)
    result = None
    if form.validate():
        page = max(form.page.data or 1, 1)
        result = paginate(
            db.session,
            staff_mediator_list(form.q.data, form.status.data),
            page,
            PAGE_SIZE,
            rows=True,
        )
    return render_template("mediators/staff_list.html", form=form, result=result)


@bp.route("/staff/mediators/new", methods=["GET", "POST"])
@role_required(*REGISTRY_STAFF)
def staff_new() -> Response | str:
    form = NewMediatorForm()
    if form.validate_on_submit():
        try:
            mediator = services.create_profile(
                db.session,
                name=form.name.data,
                email=form.email.data,
                country=form.country.data or None,
                now=utcnow(),
                actor=current_user,
            )
        except services.MediatorError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Profile of %(name)s created.", name=mediator.name), "success")
            return redirect(url_for("mediators.staff_detail", public_id=mediator.public_id), 303)
    return render_template("mediators/staff_new.html", form=form)


def _staff_forms(mediator: Mediator, **given: Any) -> dict[str, Any]:
    """Return every form of the staff detail page, with ``given`` ones (with errors) kept."""
    today = local_today()
    forms = {
        "specialisation_form": _specialisation_form(mediator, data={"granted_on": today}),
        "withdraw_form": ConductForm(prefix="withdraw", data={"on": today}),
        "grant_form": GrantForm(data={"granted_on": today}),
        "suspend_form": ConductForm(prefix="suspend", data={"on": today}),
        "lift_form": ConductForm(prefix="lift", data={"on": today}),
        "revoke_form": ConductForm(prefix="revoke", data={"on": today}),
        "name_change_form": NameChangeDecisionForm(prefix="name"),
        "assessment_form": ProgramRecordForm(
            prefix="assessment",
            data={"on": today},
            programs=program_choices(db.session, ASSESSMENT_TYPES),
        ),
        "training_form": ProgramRecordForm(
            prefix="training",
            data={"on": today},
            programs=program_choices(db.session, frozenset({ProgramType.CMTP})),
        ),
    }
    forms.update(given)
    return forms


def _render_detail(mediator: Mediator, status: int = 200, **given: Any) -> tuple[str, int]:
    page = render_template(
        "mediators/staff_detail.html",
        payment_form=PaymentForm(data={"received_on": local_today()}),
        waiver_form=WaiverForm(),
        void_form=VoidPaymentForm(),
        **_overview(mediator),
        **_staff_forms(mediator, **given),
    )
    return page, status


@bp.route("/staff/mediators/<public_id>")
@role_required(*REGISTRY_STAFF)
def staff_detail(public_id: str) -> tuple[str, int]:
    return _render_detail(mediator_or_404(public_id))


@bp.route("/staff/mediators/<public_id>/profile", methods=["GET", "POST"])
@role_required(*REGISTRY_STAFF)
def staff_profile(public_id: str) -> Response | str:
    mediator = mediator_or_404(public_id)
    form = _profile_form(mediator)
    if form.validate_on_submit():
        try:
            changed = services.update_profile(
                db.session, mediator, now=utcnow(), actor=current_user, **_profile_values(form)
            )
        except services.MediatorError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            if changed:
                flash(_("Saved: %(fields)s.", fields=", ".join(changed)), "success")
            else:
                flash(_("Saved: nothing changed."), "success")
            return redirect(url_for("mediators.staff_detail", public_id=public_id), 303)
    return render_template("mediators/profile_form.html", form=form, mediator=mediator, own=False)


def _act(
    mediator: Mediator, form_name: str, form: Any, action: Callable[[], str]
) -> Response | tuple[str, int]:
    """Validate ``form``, run ``action`` (which returns the success message), and redirect."""
    if form.validate_on_submit():
        try:
            message = action()
        except services.MediatorError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("mediators.staff_detail", public_id=mediator.public_id), 303)
    flash_form_errors(form)
    return _render_detail(mediator, 422, **{form_name: form})


@bp.route("/staff/mediators/<public_id>/grant", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def grant(public_id: str) -> Response | tuple[str, int] | str:
    mediator = mediator_or_404(public_id)
    form = GrantForm()
    page = confirmation(
        form,
        title=_("Grant %(name)s a certification?", name=mediator.name),
        summary=lambda: [
            _(
                "grant %(name)s the %(type)s certification from %(day)s, certificate number "
                "%(number)s (numbers are never reused)",
                name=mediator.name,
                type=CertificationType(form.certification_type.data).label,
                day=format_day(form.granted_on.data),
                number=form.certificate_number.data,
            )
            if form.certificate_number.data
            else _(
                "grant %(name)s the %(type)s certification from %(day)s, certificate number "
                "the next free one (numbers are never reused)",
                name=mediator.name,
                type=CertificationType(form.certification_type.data).label,
                day=format_day(form.granted_on.data),
            ),
            _("invoice the first listing contribution; the certificate is listed once it is paid"),
        ],
        button=_("Yes, grant the certification"),
        back=url_for("mediators.staff_detail", public_id=mediator.public_id),
    )
    if page is not None:
        return page

    def action() -> str:
        certification = services.grant_certification(
            db.session,
            mediator,
            certification_type=CertificationType(form.certification_type.data),
            granted_on=form.granted_on.data,
            certificate_number=form.certificate_number.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        if payer := certification.covered_by:
            return _(
                "Certificate %(number)s granted, covered by the "
                "listing contribution of certificate %(payer)s.",
                number=certification.certificate_number,
                payer=payer.certificate_number,
            )
        return _(
            "Certificate %(number)s granted. It is listed once the "
            "first listing contribution is paid or waived.",
            number=certification.certificate_number,
        )

    return _act(mediator, "grant_form", form, action)


@bp.route("/staff/name-changes/<int:change_id>/<any(approve, refuse):decision>", methods=["POST"])
@role_required(Role.SUPPORT, Role.ADMINISTRATOR)
def decide_name_change(change_id: int, decision: str) -> Response | tuple[str, int]:
    change = db.session.get(NameChange, change_id) or abort(404)
    form = NameChangeDecisionForm(prefix="name")

    def action() -> str:
        if decision == "approve":
            services.approve_name_change(
                db.session, change, note=form.reason.data or "", now=utcnow(), actor=current_user
            )
            return _(
                "Name changed from %(old)s to %(new)s.",
                old=change.old_name,
                new=change.requested_name,
            )
        services.refuse_name_change(
            db.session, change, reason=form.reason.data or "", now=utcnow(), actor=current_user
        )
        return _("Change of name to %(name)s refused.", name=change.requested_name)

    return _act(change.mediator, "name_change_form", form, action)


def _certification_or_404(number: str) -> Certification:
    if not number.isprintable():
        abort(404)
    certification = db.session.scalar(
        select(Certification).where(Certification.certificate_number == number)
    )
    if certification is None:
        abort(404)
    return certification


CONDUCT_ACTIONS = {
    "suspend": (
        services.suspend_certification,
        _l("Certificate %(number)s suspended from %(day)s."),
    ),
    "lift": (
        services.lift_suspension,
        _l("Certificate %(number)s no longer suspended from %(day)s."),
    ),
    "revoke": (
        services.revoke_certification,
        _l("Certificate %(number)s revoked from %(day)s."),
    ),
}


@bp.route("/staff/certifications/<number>/<any(suspend, lift, revoke):kind>", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def conduct(number: str, kind: str) -> Response | tuple[str, int]:
    certification = _certification_or_404(number)
    form = ConductForm(prefix=kind)
    service, done = CONDUCT_ACTIONS[kind]

    def action() -> str:
        service(
            db.session,
            certification,
            on=form.on.data,
            reason=form.reason.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return str(done) % {"number": number, "day": format_day(form.on.data)}

    return _act(certification.mediator, f"{kind}_form", form, action)


@bp.route("/staff/mediators/<public_id>/<any(assessment, training):kind>", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def record_program(public_id: str, kind: str) -> Response | tuple[str, int]:
    mediator = mediator_or_404(public_id)
    types = ASSESSMENT_TYPES if kind == "assessment" else frozenset({ProgramType.CMTP})
    form = ProgramRecordForm(prefix=kind, programs=program_choices(db.session, types))

    def action() -> str:
        if kind == "assessment":
            services.record_assessment(
                db.session,
                mediator,
                program_id=form.program_id.data,
                assessed_on=form.on.data,
                today=local_today(),
                now=utcnow(),
                actor=current_user,
            )
            return _("Assessment recorded.")
        services.record_qualification(
            db.session,
            mediator,
            program_id=form.program_id.data,
            completed_on=form.on.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _("Completed training recorded: the mediator is listed as qualified.")

    return _act(mediator, f"{kind}_form", form, action)


def _specialisation_form(mediator: Mediator, **kwargs: Any) -> SpecialisationGrantForm:
    return SpecialisationGrantForm(
        prefix="specialisation",
        specialisations=specialisation_choices(db.session),
        programs=assessing_program_choices(mediator),
        **kwargs,
    )


@bp.route("/staff/mediators/<public_id>/specialisations", methods=["POST"])
@role_required(Role.SUPPORT, Role.ADMINISTRATOR)
def grant_specialisation_view(public_id: str) -> Response | tuple[str, int]:
    mediator = mediator_or_404(public_id)
    form = _specialisation_form(mediator)

    def action() -> str:
        grant = grant_specialisation(
            db.session,
            mediator,
            code=form.code.data,
            granted_on=form.granted_on.data,
            program_id=form.program,
            basis=form.basis.data or "",
            valid_until=form.valid_until.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _(
            "%(specialisation)s granted to %(name)s.",
            specialisation=grant.specialisation.name,
            name=mediator.name,
        )

    return _act(mediator, "specialisation_form", form, action)


@bp.route("/staff/specialisation-grants/<int:grant_id>/withdraw", methods=["POST"])
@role_required(Role.SUPPORT, Role.ADMINISTRATOR)
def withdraw_specialisation_view(grant_id: int) -> Response | tuple[str, int]:
    grant = db.session.get(SpecialisationGrant, grant_id) or abort(404)
    form = ConductForm(prefix="withdraw")

    def action() -> str:
        withdraw_specialisation(
            db.session,
            grant,
            on=form.on.data,
            reason=form.reason.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _(
            "%(specialisation)s withdrawn from %(day)s.",
            specialisation=grant.specialisation.name,
            day=format_day(form.on.data),
        )

    return _act(grant.mediator, "withdraw_form", form, action)


@bp.route("/staff/specialisations")
@role_required(Role.ADMINISTRATOR)
def specialisations() -> str:
    """Which recognised programs are a basis for which specialisation (reference data)."""
    bases = specialisation_bases(db.session)
    forms = {
        code: SpecialisationBasesForm(prefix=code, data={"program_types": types})
        for code, types in bases.items()
    }
    names = dict(specialisation_choices(db.session))
    return render_template("mediators/specialisations.html", forms=forms, names=names)


@bp.route("/staff/specialisations/<code>", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def set_bases(code: str) -> Response:
    specialisation = db.session.get(Specialisation, code) or abort(404)
    form = SpecialisationBasesForm(prefix=code)
    if form.validate_on_submit():
        try:
            set_specialisation_bases(
                db.session, code, form.program_types.data, now=utcnow(), actor=current_user
            )
        except services.MediatorError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Bases for %(name)s saved.", name=specialisation.name), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("mediators.specialisations"), 303)
