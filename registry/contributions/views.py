"""Staff pages for payments, waivers and the fee schedule; the mediator's waiver request."""

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask import Response as FlaskResponse
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from registry.accounts.models import Role
from registry.accounts.permissions import role_required
from registry.clock import local_today
from registry.contributions import services, stripe_payments
from registry.contributions.forms import (
    CountryTierForm,
    FeeRateForm,
    HeldPaymentForm,
    PaymentForm,
    PayNowForm,
    RefundForm,
    VoidPaymentForm,
    WaiverDecisionForm,
    WaiverForm,
)
from registry.contributions.models import (
    CountryTier,
    FeeRate,
    HeldPayment,
    HoldStatus,
    Invoice,
    Payment,
    PaymentSource,
    Tier,
    Waiver,
    WaiverStatus,
)
from registry.contributions.receipts import NoReceipt, receipt_filename, receipt_pdf
from registry.database import utcnow
from registry.extensions import db
from registry.formatting import format_day, format_money
from registry.i18n import in_sentence
from registry.mediators.models import Certification
from registry.mediators.queries import profile_of
from registry.mediators.transitions import Change
from registry.reference import country_name
from registry.web import confirmation, flash_form_errors, submit_form

bp = Blueprint("contributions", __name__)

# Staff who record money: support staff and administrators (product brief, "Who uses it").
PAYMENT_STAFF = services.PAYMENT_STAFF
# Staff who see invoices (on a mediator's page, and one by one).
INVOICE_READERS = (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR)


def _invoice_or_404(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort(404)
    return invoice


def _back_to(invoice: Invoice) -> Response:
    public_id = invoice.certification.mediator.public_id
    return redirect(url_for("mediators.staff_detail", public_id=public_id), 303)


def _submit(form: FlaskForm, back: Response, action: Callable[[], str]) -> Response:
    return submit_form(form, back, action, services.ContributionError)


@bp.route("/staff/invoices/<int:invoice_id>/payments", methods=["POST"])
@role_required(*PAYMENT_STAFF)
def record_payment(invoice_id: int) -> ResponseReturnValue:
    invoice = _invoice_or_404(invoice_id)
    form = PaymentForm()
    mediator = invoice.certification.mediator
    page = confirmation(
        form,
        title=_("Record this payment for %(name)s?", name=mediator.name),
        summary=lambda: [
            _(
                "record %(amount)s received on %(day)s against invoice %(number)s (owed: %(owed)s)",
                amount=format_money(form.amount.minor, form.currency.data),
                day=format_day(form.received_on.data),
                number=invoice.number,
                owed=format_money(invoice.balance_minor, invoice.currency),
            ),
            _("settle the invoice if it is paid in full, which may certify the mediator again"),
        ],
        button=_("Yes, record the payment"),
        back=url_for("mediators.staff_detail", public_id=mediator.public_id),
    )
    if page is not None:
        return page

    def action() -> str:
        payment, change = services.record_payment(
            db.session,
            invoice,
            amount_minor=form.amount.minor,
            currency=form.currency.data,
            received_on=form.received_on.data,
            note=form.note.data or "",
            today=local_today(),
            now=utcnow(),
            actor=current_user,
            notify=True,
        )
        paid = format_money(payment.amount_minor, invoice.currency)
        recorded = _("%(amount)s recorded on %(number)s.", amount=paid, number=invoice.number)
        return f"{recorded} {_settlement_message(invoice, change)}"

    return _submit(form, _back_to(invoice), action)


@bp.route("/staff/payments/<int:payment_id>/void", methods=["POST"])
@role_required(*PAYMENT_STAFF)
def void_payment(payment_id: int) -> ResponseReturnValue:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404)
    invoice, form = payment.invoice, VoidPaymentForm()
    mediator = invoice.certification.mediator
    page = confirmation(
        form,
        title=_("Void this payment for %(name)s?", name=mediator.name),
        summary=lambda: [
            _(
                "void the payment of %(amount)s received on %(day)s against invoice "
                "%(number)s: it stays on record, struck through, and counts towards nothing",
                amount=format_money(payment.amount_minor, payment.currency),
                day=format_day(payment.received_on),
                number=invoice.number,
            ),
            _(
                "recompute the invoice's settlement and the mediator's status without it, "
                "which may make the mediator lapsed again"
            ),
        ],
        button=_("Yes, void the payment"),
        back=url_for("mediators.staff_detail", public_id=mediator.public_id),
    )
    if page is not None:
        return page

    def action() -> str:
        change = services.void_payment(
            db.session,
            payment,
            reason=form.reason.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        voided = format_money(payment.amount_minor, payment.currency)
        done = _("%(amount)s on %(number)s voided.", amount=voided, number=invoice.number)
        return f"{done} {_settlement_message(invoice, change)}"

    return _submit(form, _back_to(invoice), action)


def _settlement_message(invoice: Invoice, change: Change | None) -> str:
    if invoice.balance_minor > 0:
        owed = format_money(invoice.balance_minor, invoice.currency)
        message = _("Still owed: %(amount)s.", amount=owed)
    elif invoice.balance_minor < 0:
        credit = format_money(-invoice.balance_minor, invoice.currency)
        message = _(
            "Overpaid by %(amount)s: refund it or note it for the next period.", amount=credit
        )
    else:
        message = _("Settled.")
    if change is not None and change.changed:
        status = in_sentence(change.after.status.label)
        message += " " + _("Status now: %(status)s.", status=status)
    return message


@bp.route("/staff/invoices/<int:invoice_id>/waiver", methods=["POST"])
@role_required(*PAYMENT_STAFF)
def grant_waiver(invoice_id: int) -> Response:
    invoice = _invoice_or_404(invoice_id)
    form = WaiverForm()

    def action() -> str:
        change = services.grant_waiver(
            db.session,
            invoice,
            percent=form.percent.data,
            reason=form.reason.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        waived = _(
            "%(percent)s%% of %(number)s waived.", percent=form.percent.data, number=invoice.number
        )
        return f"{waived} {_settlement_message(invoice, change)}"

    return _submit(form, _back_to(invoice), action)


@bp.route("/my/invoices/<int:invoice_id>/waiver", methods=["POST"])
@role_required(Role.MEDIATOR)
def request_waiver(invoice_id: int) -> Response:
    invoice = _invoice_or_404(invoice_id)
    mediator = profile_of(db.session, current_user)
    if mediator is None or invoice.certification.mediator_id != mediator.id:
        abort(404)
    form = WaiverForm()

    def action() -> str:
        mediator.user = current_user
        services.request_waiver(
            db.session,
            invoice,
            percent=form.percent.data,
            today=local_today(),
            reason=form.reason.data,
            actor=current_user,
            now=utcnow(),
        )
        return _("Your waiver request is sent. Staff will decide and you will see the answer here.")

    return _submit(form, redirect(url_for("mediators.my_certification"), 303), action)


def _own_invoice_or_404(invoice_id: int) -> Invoice:
    """The invoice, if it is one of the signed-in mediator's own; else 404."""
    invoice = _invoice_or_404(invoice_id)
    mediator = profile_of(db.session, current_user)
    if mediator is None or invoice.certification.mediator_id != mediator.id:
        abort(404)
    return invoice


@bp.route("/my/invoices/<int:invoice_id>/pay", methods=["POST"])
@role_required(Role.MEDIATOR)
def pay_now(invoice_id: int) -> Response:
    """Send the mediator to Stripe Checkout for what the invoice owes."""
    invoice = _own_invoice_or_404(invoice_id)
    back = redirect(url_for("mediators.my_certification"), 303)
    if not PayNowForm().validate_on_submit():
        flash(_("The form had expired. Reload the page and try again."), "error")
        return back
    if not stripe_payments.is_configured():
        flash(_("Online payment is not configured; pay by bank transfer."), "error")
        return back
    page = current_app.config["PUBLIC_URL"] + url_for("mediators.my_certification")
    try:
        address = stripe_payments.start_checkout(
            db.session,
            invoice,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
            success_url=f"{page}?checkout=paid&invoice={invoice.number}",
            cancel_url=f"{page}?checkout=cancelled&invoice={invoice.number}",
        )
    except (services.ContributionError, stripe_payments.StripeUnavailable) as error:
        db.session.rollback()
        flash(_("Online payment is not possible now: %(error)s", error=error), "error")
        return back
    db.session.commit()
    return redirect(address, 303)


def _receipt_response(invoice: Invoice) -> FlaskResponse:
    try:
        body = receipt_pdf(invoice)
    except NoReceipt:
        abort(404)
    response = FlaskResponse(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{receipt_filename(invoice)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/my/invoices/<int:invoice_id>/receipt.pdf")
@role_required(Role.MEDIATOR)
def my_receipt(invoice_id: int) -> FlaskResponse:
    """The receipt of one of the mediator's settled invoices."""
    return _receipt_response(_own_invoice_or_404(invoice_id))


@bp.route("/staff/invoices/<int:invoice_id>/receipt.pdf")
@role_required(*INVOICE_READERS)
def staff_receipt(invoice_id: int) -> FlaskResponse:
    return _receipt_response(_invoice_or_404(invoice_id))


@bp.route("/staff/invoices/<int:invoice_id>")
@role_required(*INVOICE_READERS)
def invoice_page(invoice_id: int) -> str:
    """One invoice: its payments with their source, Stripe ids and refunds, held payments."""
    invoice = _invoice_or_404(invoice_id)
    held = db.session.scalars(
        select(HeldPayment).where(HeldPayment.invoice_id == invoice.id).order_by(HeldPayment.id)
    ).all()
    return render_template(
        "contributions/invoice.html",
        invoice=invoice,
        mediator=invoice.certification.mediator,
        held=held,
        refund_form=RefundForm(),
        can_refund=current_user.has_role(*PAYMENT_STAFF) and stripe_payments.is_configured(),
        PaymentSource=PaymentSource,
        dashboard_url=stripe_payments.dashboard_url,
        stripe_configured=stripe_payments.is_configured(),
    )


@bp.route("/staff/payments/<int:payment_id>/refund", methods=["POST"])
@role_required(*PAYMENT_STAFF)
def refund_payment(payment_id: int) -> ResponseReturnValue:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404)
    invoice, form = payment.invoice, RefundForm()
    back_url = url_for("contributions.invoice_page", invoice_id=invoice.id)
    page = confirmation(
        form,
        title=_("Refund this payment to %(name)s?", name=invoice.certification.mediator.name),
        summary=lambda: [
            _(
                "ask Stripe to refund %(amount)s of the payment of %(paid)s received on "
                "%(day)s (%(reference)s)",
                amount=format_money(form.amount.minor, payment.currency),
                paid=format_money(payment.amount_minor, payment.currency),
                day=format_day(payment.received_on),
                reference=payment.provider_reference,
            ),
            _(
                "once Stripe confirms it, recompute the invoice and the mediator's status "
                "without the refunded money, which may make the mediator lapsed again"
            ),
        ],
        button=_("Yes, refund through Stripe"),
        back=back_url,
    )
    if page is not None:
        return page

    def action() -> str:
        if form.currency.data != payment.currency:
            raise services.ContributionError(
                _("The payment is in %(currency)s.", currency=payment.currency)
            )
        try:
            stripe_payments.refund_payment(
                db.session,
                payment,
                amount_minor=form.amount.minor,
                reason=form.reason.data,
                now=utcnow(),
                actor=current_user,
            )
        except stripe_payments.StripeUnavailable as error:
            raise services.ContributionError(
                _("Stripe did not refund it: %(error)s", error=error)
            ) from error
        refund = format_money(form.amount.minor, payment.currency)
        return _(
            "Stripe was asked to refund %(amount)s. It counts once Stripe confirms it, usually "
            "within seconds; this page then shows it.",
            amount=refund,
        )

    return _submit(form, redirect(back_url, 303), action)


@bp.route("/staff/waivers")
@role_required(*PAYMENT_STAFF)
def waivers() -> str:
    pending = db.session.scalars(
        select(Waiver)
        .where(Waiver.status == WaiverStatus.REQUESTED.value)
        # The queue shows each request's invoice and mediator: load them with it.
        .options(
            joinedload(Waiver.invoice)
            .joinedload(Invoice.certification)
            .joinedload(Certification.mediator)
        )
        .order_by(Waiver.requested_at)
    ).all()
    return render_template("contributions/waivers.html", pending=pending, form=WaiverDecisionForm())


@bp.route("/staff/waivers/<int:waiver_id>", methods=["POST"])
@role_required(*PAYMENT_STAFF)
def decide_waiver(waiver_id: int) -> Response:
    waiver = db.session.get(Waiver, waiver_id)
    if waiver is None:
        abort(404)
    form = WaiverDecisionForm()

    def action() -> str:
        grant = form.decision.data == "grant"
        services.decide_waiver(
            db.session,
            waiver,
            grant=grant,
            note=form.note.data or "",
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        if grant:
            return _("Waiver of %(number)s granted.", number=waiver.invoice.number)
        return _("Waiver of %(number)s refused.", number=waiver.invoice.number)

    return _submit(form, redirect(url_for("contributions.waivers"), 303), action)


@bp.route("/staff/held-payments")
@role_required(*PAYMENT_STAFF)
def held_payments() -> str:
    held = db.session.scalars(
        select(HeldPayment)
        .where(HeldPayment.status == HoldStatus.HELD.value)
        .order_by(HeldPayment.received_at)
    ).all()
    return render_template("contributions/held_payments.html", held=held, form=HeldPaymentForm())


@bp.route("/staff/held-payments/<int:held_id>", methods=["POST"])
@role_required(*PAYMENT_STAFF)
def decide_held_payment(held_id: int) -> Response:
    held = db.session.get(HeldPayment, held_id)
    if held is None:
        abort(404)
    form = HeldPaymentForm()

    def action() -> str:
        note = form.note.data or ""
        if form.decision.data == "book":
            _payment, change = services.book_held_payment(
                db.session, held, note=note, today=local_today(), now=utcnow(), actor=current_user
            )
            booked = format_money(held.amount_minor, held.currency)
            done = _("%(amount)s booked on %(number)s.", amount=booked, number=held.invoice.number)
            return f"{done} {_settlement_message(held.invoice, change)}"
        services.return_held_payment(db.session, held, note=note, now=utcnow(), actor=current_user)
        return _(
            "The payment %(reference)s is marked as returned to the payer.",
            reference=held.provider_reference,
        )

    return _submit(form, redirect(url_for("contributions.held_payments"), 303), action)


def _fees_page(rate_form: FeeRateForm, tier_form: CountryTierForm, status: int = 200):
    rates = db.session.scalars(select(FeeRate).order_by(FeeRate.year.desc())).all()
    tiers = db.session.scalars(select(CountryTier).order_by(CountryTier.country)).all()
    page = render_template(
        "contributions/fees.html",
        rates=rates,
        tiers=tiers,
        Tier=Tier,
        rate_form=rate_form,
        tier_form=tier_form,
    )
    return page, status


@bp.route("/staff/fees")
@role_required(Role.ADMINISTRATOR)
def fees() -> tuple[str, int]:
    return _fees_page(FeeRateForm(prefix="rate"), CountryTierForm(prefix="tier"))


@bp.route("/staff/fees/rates", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def set_fee_rate() -> Response | tuple[str, int]:
    form = FeeRateForm(prefix="rate")
    if form.validate_on_submit():
        try:
            rate = services.set_fee_rate(
                db.session,
                year=form.year.data,
                amount_minor=form.amount.minor,
                currency=form.currency.data,
                actor=current_user,
                now=utcnow(),
            )
        except services.ContributionError as error:
            db.session.rollback()
            form.amount.errors.append(str(error))
        else:
            db.session.commit()
            flash(
                _(
                    "Fee for %(year)s: %(amount)s (full tier). "
                    "Invoices already issued keep their amount.",
                    year=rate.year,
                    amount=format_money(rate.amount_minor, rate.currency),
                ),
                "success",
            )
            return redirect(url_for("contributions.fees"), 303)
    flash_form_errors(form)
    return _fees_page(form, CountryTierForm(prefix="tier"), 422)


@bp.route("/staff/fees/tiers", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def set_country_tier() -> Response | tuple[str, int]:
    form = CountryTierForm(prefix="tier")
    if form.validate_on_submit():
        try:
            services.set_country_tier(
                db.session,
                country=form.country.data,
                tier=Tier(form.tier.data),
                actor=current_user,
                now=utcnow(),
            )
        except services.ContributionError as error:
            db.session.rollback()
            form.country.errors.append(str(error))
        else:
            db.session.commit()
            country = country_name(form.country.data)
            flash(
                _(
                    "%(country)s now pays: %(tier)s.",
                    country=country,
                    tier=Tier(form.tier.data).label,
                ),
                "success",
            )
            return redirect(url_for("contributions.fees"), 303)
    flash_form_errors(form)
    return _fees_page(FeeRateForm(prefix="rate"), form, 422)
