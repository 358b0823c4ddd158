"""Fee schedule, invoices, payments and waivers: one function per change."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User, UserRole
from registry.clock import add_years
from registry.contributions.models import (
    CountryTier,
    FeeRate,
    HeldPayment,
    HoldStatus,
    Invoice,
    Payment,
    PaymentSource,
    Refund,
    RefundStatus,
    Tier,
    Waiver,
    WaiverStatus,
)
from registry.events.services import record_event
from registry.formatting import format_day
from registry.formatting import format_money as format_user_money
from registry.i18n import in_sentence
from registry.mail.services import mail_languages, queue_template_mail
from registry.mediators.models import Certification, Status
from registry.mediators.status import certification_standing
from registry.mediators.transitions import Change, covered_certifications, remember_coverage
from registry.reference import COUNTRIES, CURRENCIES, format_money

# Statuses whose invoices can no longer be paid: only a new grant helps after these.
# The largest amount accepted (minor units): far above any contribution, within 32-bit columns.
MAX_AMOUNT_MINOR = 1_000_000_000
CLOSED_STATUSES = frozenset({Status.STRUCK, Status.REVOKED})


class ContributionError(ValueError):
    """A fee, invoice, payment or waiver change that the rules do not allow."""


def _check_amount(amount: object, *, positive: bool) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ContributionError(_("Amounts are whole numbers of minor units (cents)."))
    if amount < 0 or (positive and amount == 0):
        raise ContributionError(
            _("The amount must be more than zero.")
            if positive
            else _("The amount cannot be negative.")
        )
    if amount > MAX_AMOUNT_MINOR:
        raise ContributionError(_("The amount is too large; check the number."))
    return amount


def _check_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in CURRENCIES:
        raise ContributionError(
            _("Unknown currency %(code)s; use an ISO 4217 code like EUR.", code=repr(currency))
        )
    return code


def set_fee_rate(
    session: Session,
    *,
    year: int,
    amount_minor: int,
    currency: str,
    actor: User,
    now: datetime,
) -> FeeRate:
    """Set the full yearly contribution for listing periods starting in ``year``."""
    if not 2000 <= year <= 2200:
        raise ContributionError(_("The year must be between 2000 and 2200."))
    amount_minor = _check_amount(amount_minor, positive=False)
    currency = _check_currency(currency)
    rate = session.get(FeeRate, year)
    before = (rate.amount_minor, rate.currency) if rate else None
    if rate is None:
        rate = FeeRate(year=year, amount_minor=amount_minor, currency=currency, updated_at=now)
        session.add(rate)
    rate.amount_minor, rate.currency, rate.updated_at = amount_minor, currency, now
    record_event(
        session,
        action="fee_rate.set",
        subject_type="fee_rate",
        subject_id=year,
        now=now,
        actor=actor,
        data={"amount_minor": amount_minor, "currency": currency, "before": before},
    )
    session.flush()
    return rate


def set_country_tier(
    session: Session, *, country: str, tier: Tier, actor: User, now: datetime
) -> None:
    """Put ``country`` in a fee tier (the full tier removes any reduction)."""
    code = (country or "").strip().upper()
    if code not in COUNTRIES:
        raise ContributionError(_("Unknown country code %(code)s.", code=repr(country)))
    row = session.get(CountryTier, code)
    before = row.tier if row else Tier.FULL.value
    if tier is Tier.FULL:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(CountryTier(country=code, tier=tier.value))
    else:
        row.tier = tier.value
    record_event(
        session,
        action="country_tier.set",
        subject_type="country",
        subject_id=code,
        now=now,
        actor=actor,
        data={"tier": tier.value, "before": before},
    )
    session.flush()


def tier_of(session: Session, country: str | None) -> Tier:
    """Return the fee tier of ``country`` (full when unknown or not listed)."""
    row = session.get(CountryTier, country) if country else None
    return Tier(row.tier) if row else Tier.FULL


def issue_invoice(
    session: Session,
    certification: Certification,
    *,
    period_start: date,
    today: date,
    now: datetime,
) -> Invoice:
    """Invoice the listing period of ``certification`` that starts on ``period_start``."""
    rate = session.get(FeeRate, period_start.year)
    if rate is None:
        raise ContributionError(
            _(
                "There is no fee schedule for %(year)s; an administrator sets it first.",
                year=period_start.year,
            )
        )
    tier = tier_of(session, certification.mediator.country)
    invoice = Invoice(
        certification=certification,
        period_start=period_start,
        period_end=add_years(period_start, 1) - timedelta(days=1),
        amount_minor=rate.amount_for(tier),
        currency=rate.currency,
        tier=tier.value,
        issued_on=today,
    )
    session.add(invoice)
    session.flush()
    refresh_settlement(invoice)
    record_event(
        session,
        action="invoice.issued",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        data=_invoice_data(invoice),
    )
    return invoice


def _invoice_data(invoice: Invoice) -> dict[str, object]:
    return {
        "certificate_number": invoice.certification.certificate_number,
        "period": f"{invoice.period_start.isoformat()}/{invoice.period_end.isoformat()}",
        "amount": format_money(invoice.amount_minor, invoice.currency),
        "balance_minor": invoice.balance_minor,
    }


def refresh_settlement(invoice: Invoice) -> None:
    """Recompute the day the invoice's payments and granted waiver first reached its amount."""
    credits = [(payment.received_on, payment.counted_minor) for payment in invoice.counted_payments]
    waiver = invoice.granted_waiver
    if waiver is not None:
        credits.append((waiver.decided_on, waiver.waived_minor))
    if invoice.amount_minor == 0:
        # Nothing to pay: settled when issued (an imported period keeps its own date).
        invoice.settled_on = invoice.settled_on or invoice.issued_on
        return
    total = 0
    invoice.settled_on = None
    for day, amount in sorted(credits):
        total += amount
        if total >= invoice.amount_minor:
            invoice.settled_on = day
            return


def check_open(session: Session, invoice: Invoice, on: date) -> None:
    """Refuse a credit to ``invoice`` on ``on`` if the rules no longer let it count."""
    certification = invoice.certification
    if on < certification.granted_on:
        raise ContributionError(
            _(
                "The date %(day)s is before the grant (%(granted)s).",
                day=format_day(on),
                granted=format_day(certification.granted_on),
            )
        )
    standings = [
        certification_standing(session, covered, on)
        for covered in covered_certifications(session, certification)
        if covered.granted_on <= on
    ]
    # One contribution covers all of a person's certifications: open while one is not closed.
    if all(standing.status in CLOSED_STATUSES for standing in standings):
        standing = standings[0]
        raise ContributionError(
            _(
                "Certificate %(number)s was %(status)s on %(day)s; "
                "only a new grant can certify this person again.",
                number=certification.certificate_number,
                status=standing.status.word,
                day=format_day(standing.since),
            )
        )
    earlier = session.scalar(
        select(Invoice)
        .where(
            Invoice.certification_id == certification.id,
            Invoice.period_start < invoice.period_start,
            Invoice.settled_on.is_(None),
        )
        .order_by(Invoice.period_start)
        .limit(1)
    )
    if earlier is not None:
        raise ContributionError(
            _(
                "Invoice %(number)s for an earlier period is still open; settle it first.",
                number=earlier.number,
            )
        )


def record_payment(
    session: Session,
    invoice: Invoice,
    *,
    amount_minor: int,
    currency: str,
    received_on: date,
    today: date,
    now: datetime,
    actor: User | None,
    source: PaymentSource = PaymentSource.STAFF,
    provider_reference: str | None = None,
    stripe_checkout_session: str | None = None,
    note: str = "",
    notify: bool = False,
) -> tuple[Payment, Change]:
    """Record money received for ``invoice``; a payment inside grace restores certification.

    With ``notify`` (money received now, not history being loaded) the mediator is e-mailed,
    with the receipt attached once the invoice is settled.
    """
    amount_minor = _check_amount(amount_minor, positive=True)
    currency = _check_currency(currency)
    if currency != invoice.currency:
        raise ContributionError(
            _(
                "Invoice %(number)s is in %(currency)s, not %(other)s.",
                number=invoice.number,
                currency=invoice.currency,
                other=currency,
            )
        )
    if received_on > today:
        raise ContributionError(_("A payment cannot be received in the future."))
    check_open(session, invoice, received_on)
    payment = Payment(
        invoice=invoice,
        amount_minor=amount_minor,
        currency=currency,
        received_on=received_on,
        source=source.value,
        provider_reference=provider_reference,
        stripe_checkout_session=stripe_checkout_session,
        note=note.strip(),
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(payment)
    session.flush()
    refresh_settlement(invoice)
    change = remember_coverage(session, invoice.certification, today)
    if notify:
        tell_payment_received(session, payment, now=now)
    record_event(
        session,
        action="payment.recorded",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        actor=actor,
        data={
            **_invoice_data(invoice),
            "paid": format_money(amount_minor, currency),
            "received_on": received_on.isoformat(),
            "source": source.value,
            "provider_reference": provider_reference,
            "stripe_checkout_session": stripe_checkout_session,
            **change.as_data(),
        },
    )
    return payment, change


def void_payment(
    session: Session,
    payment: Payment,
    *,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change:
    """Void a payment booked by mistake; the invoice and status are recomputed without it."""
    if payment.voided_at is not None:
        raise ContributionError(_("This payment has been voided already."))
    if not reason.strip():
        raise ContributionError(_("Say why the payment is voided."))
    invoice = payment.invoice
    payment.voided_at, payment.voided_by, payment.void_reason = now, actor, reason.strip()
    session.flush()
    refresh_settlement(invoice)
    change = remember_coverage(session, invoice.certification, today)
    record_event(
        session,
        action="payment.voided",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        actor=actor,
        reason=payment.void_reason,
        data={
            **_invoice_data(invoice),
            "payment_id": payment.id,
            "voided": format_money(payment.amount_minor, payment.currency),
            "received_on": payment.received_on.isoformat(),
            **change.as_data(),
        },
    )
    return change


def _check_waiver_terms(invoice: Invoice, percent: object, reason: str) -> int:
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise ContributionError(_("The waiver is a whole percentage."))
    if not 1 <= percent <= 100:
        raise ContributionError(
            _("A waiver is between %(low)d%% and %(high)d%% of the contribution.", low=1, high=100)
        )
    if not reason.strip():
        raise ContributionError(_("A waiver needs a reason."))
    if invoice.granted_waiver is not None:
        raise ContributionError(
            _("Invoice %(number)s already has a waiver.", number=invoice.number)
        )
    if invoice.settled_on is not None:
        raise ContributionError(
            _("Invoice %(number)s is settled; nothing is left to waive.", number=invoice.number)
        )
    return percent


def request_waiver(
    session: Session,
    invoice: Invoice,
    *,
    percent: int,
    reason: str,
    today: date,
    actor: User,
    now: datetime,
) -> Waiver:
    """Ask for ``percent`` of ``invoice`` to be waived; staff decide."""
    percent = _check_waiver_terms(invoice, percent, reason)
    check_open(session, invoice, max(invoice.certification.granted_on, today))
    if any(waiver.status == WaiverStatus.REQUESTED for waiver in invoice.waivers):
        raise ContributionError(
            _("A waiver of invoice %(number)s is already asked for.", number=invoice.number)
        )
    waiver = Waiver(
        invoice=invoice,
        percent=percent,
        reason=reason.strip(),
        status=WaiverStatus.REQUESTED.value,
        requested_by=actor,
        requested_at=now,
    )
    session.add(waiver)
    session.flush()
    record_event(
        session,
        action="waiver.requested",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        actor=actor,
        reason=waiver.reason,
        data={"percent": percent, "waiver_id": waiver.id},
    )
    return waiver


def decide_waiver(
    session: Session,
    waiver: Waiver,
    *,
    grant: bool,
    note: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change | None:
    """Grant or refuse a requested waiver; a granted one counts from ``today``."""
    if waiver.status != WaiverStatus.REQUESTED:
        raise ContributionError(_("This waiver request has been decided already."))
    invoice = waiver.invoice
    if grant:
        _check_waiver_terms(invoice, waiver.percent, waiver.reason)
        check_open(session, invoice, today)
    elif not note.strip():
        raise ContributionError(_("Say why the waiver is refused; the mediator will see it."))
    waiver.status = (WaiverStatus.GRANTED if grant else WaiverStatus.REFUSED).value
    waiver.decided_by, waiver.decided_on, waiver.decision_note = actor, today, note.strip()
    session.flush()
    change = None
    if grant:
        refresh_settlement(invoice)
        change = remember_coverage(session, invoice.certification, today)
    record_event(
        session,
        action="waiver.granted" if grant else "waiver.refused",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        actor=actor,
        reason=note.strip() or waiver.reason,
        data={
            "percent": waiver.percent,
            "waiver_id": waiver.id,
            **_invoice_data(invoice),
            **(change.as_data() if change else {}),
        },
    )
    return change


def grant_waiver(
    session: Session,
    invoice: Invoice,
    *,
    percent: int,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> Change | None:
    """Waive ``percent`` of ``invoice`` directly (staff), with a reason."""
    waiver = request_waiver(
        session, invoice, percent=percent, reason=reason, today=today, actor=actor, now=now
    )
    return decide_waiver(
        session, waiver, grant=True, note=reason, today=today, now=now, actor=actor
    )


# Who records money and so decides about held payments (product brief, "Who uses it").
PAYMENT_STAFF = (Role.SUPPORT, Role.ADMINISTRATOR)


def hold_reason(invoice: Invoice, amount_minor: int) -> str | None:
    """Return why a provider's payment of ``amount_minor`` needs staff's eyes, or None.

    An under-payment is booked (the invoice shows what is still owed); a payment on a settled
    invoice, or for more than is owed, waits for staff.
    """
    owed = invoice.balance_minor
    if owed <= 0:
        return f"Invoice {invoice.number} is already settled; nothing is owed on it."
    if amount_minor > owed:
        paid, due = (
            format_money(amount_minor, invoice.currency),
            format_money(owed, invoice.currency),
        )
        return f"It pays {paid} where {due} is owed on invoice {invoice.number}."
    return None


def hold_payment(
    session: Session,
    invoice: Invoice,
    *,
    amount_minor: int,
    currency: str,
    paid_on: date,
    provider_reference: str,
    reason: str,
    now: datetime,
    source: PaymentSource = PaymentSource.PROVIDER,
    stripe_checkout_session: str | None = None,
) -> HeldPayment:
    """Keep a provider's payment out of the books and tell payment staff to look at it."""
    held = HeldPayment(
        invoice=invoice,
        provider_reference=provider_reference,
        source=source.value,
        stripe_checkout_session=stripe_checkout_session,
        amount_minor=_check_amount(amount_minor, positive=True),
        currency=_check_currency(currency),
        paid_on=paid_on,
        reason=reason,
        received_at=now,
        status=HoldStatus.HELD.value,
    )
    session.add(held)
    session.flush()
    record_event(
        session,
        action="payment.held",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        reason=reason,
        data={
            "held_payment_id": held.id,
            "paid": format_money(amount_minor, currency),
            "provider_reference": provider_reference,
            "source": source.value,
        },
    )
    queue_template_mail(
        session, "payment_held.txt", to=_payment_staff_addresses(session), now=now, held=held
    )
    return held


def _payment_staff_addresses(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .join(UserRole)
            .where(UserRole.role.in_(PAYMENT_STAFF), User.disabled_at.is_(None))
            .order_by(User.email)
        )
    )


def _check_held(held: HeldPayment) -> None:
    if held.status != HoldStatus.HELD:
        raise ContributionError(_("This held payment has been decided already."))


def book_held_payment(
    session: Session, held: HeldPayment, *, note: str, today: date, now: datetime, actor: User
) -> tuple[Payment, Change]:
    """Book a held payment after all (say, the overpayment is credited to the next period)."""
    _check_held(held)
    payment, change = record_payment(
        session,
        held.invoice,
        amount_minor=held.amount_minor,
        currency=held.currency,
        received_on=held.paid_on,
        today=today,
        now=now,
        actor=actor,
        source=PaymentSource(held.source),
        provider_reference=held.provider_reference,
        stripe_checkout_session=held.stripe_checkout_session,
        notify=True,
        note=f"Held ({held.reason}) and booked by staff. {note.strip()}".strip(),
    )
    _decide_held(session, held, HoldStatus.BOOKED, note=note, actor=actor, now=now)
    return payment, change


def return_held_payment(
    session: Session, held: HeldPayment, *, note: str, now: datetime, actor: User
) -> None:
    """Leave a held payment out of the books: the money goes back to the payer (say how)."""
    _check_held(held)
    if not note.strip():
        raise ContributionError(_("Say how the money goes back to the payer."))
    _decide_held(session, held, HoldStatus.RETURNED, note=note, actor=actor, now=now)


def _decide_held(
    session: Session,
    held: HeldPayment,
    status: HoldStatus,
    *,
    note: str,
    actor: User,
    now: datetime,
) -> None:
    held.status, held.decided_by, held.decided_at = status.value, actor, now
    held.decision_note = note.strip()
    session.flush()
    record_event(
        session,
        action=f"payment.held_{status.value}",
        subject_type="invoice",
        subject_id=held.invoice.number,
        now=now,
        actor=actor,
        reason=note.strip() or None,
        data={"held_payment_id": held.id, "provider_reference": held.provider_reference},
    )


@dataclass(frozen=True)
class ProviderPayment:
    """What a payment provider reports it received, for ``receive_provider_payment``."""

    reference: str
    amount_minor: int
    currency: str
    paid_on: date
    source: PaymentSource = PaymentSource.PROVIDER
    stripe_checkout_session: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What became of a provider's payment: recorded, held for staff, or a duplicate."""

    outcome: str  # "recorded", "held" or "duplicate"
    payment: Payment | None = None
    held: HeldPayment | None = None
    change: Change | None = None


def recorded_with_reference(session: Session, reference: str) -> Payment | HeldPayment | None:
    """Return the payment booked or held for the provider's ``reference``, if any."""
    return session.scalar(
        select(Payment).where(Payment.provider_reference == reference)
    ) or session.scalar(select(HeldPayment).where(HeldPayment.provider_reference == reference))


def _duplicate(recorded: Payment | HeldPayment) -> Receipt:
    if isinstance(recorded, HeldPayment):
        return Receipt("duplicate", held=recorded)
    return Receipt("duplicate", payment=recorded)


def receive_provider_payment(
    session: Session,
    invoice: Invoice,
    given: ProviderPayment,
    *,
    today: date,
    now: datetime,
    hold_refused: bool = False,
) -> Receipt:
    """Book a payment a provider reports, once per provider reference, or hold it for staff.

    Both webhooks (the provider-neutral one and Stripe's) come through here. A reference
    already booked or held is a duplicate. A payment on a settled invoice or for more than is
    owed is held. One the rules refuse (a struck certification, another currency) raises
    ContributionError, or with ``hold_refused`` (money that was taken and must not be lost) is
    held with that reason.
    """
    existing = recorded_with_reference(session, given.reference)
    if existing is not None:
        return _duplicate(existing)
    reason = hold_reason(invoice, given.amount_minor)
    if reason is None:
        try:
            payment, change = record_payment(
                session,
                invoice,
                amount_minor=given.amount_minor,
                currency=given.currency,
                received_on=min(given.paid_on, today),
                today=today,
                now=now,
                actor=None,
                source=given.source,
                provider_reference=given.reference,
                stripe_checkout_session=given.stripe_checkout_session,
                notify=True,
            )
            return Receipt("recorded", payment=payment, change=change)
        except ContributionError as error:
            # record_payment checks everything before it changes anything.
            if not hold_refused:
                raise
            reason = str(error)
    held = hold_payment(
        session,
        invoice,
        amount_minor=given.amount_minor,
        currency=given.currency,
        paid_on=min(given.paid_on, today),
        provider_reference=given.reference,
        reason=reason,
        now=now,
        source=given.source,
        stripe_checkout_session=given.stripe_checkout_session,
    )
    return Receipt("held", held=held)


def ask_refund(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    reason: str,
    stripe_refund_id: str,
    now: datetime,
    actor: User,
) -> Refund:
    """Note a refund staff asked Stripe for; it counts once Stripe confirms it."""
    check_refund(payment, amount_minor, reason)
    refund = Refund(
        payment=payment,
        amount_minor=amount_minor,
        currency=payment.currency,
        status=RefundStatus.REQUESTED.value,
        stripe_refund_id=stripe_refund_id,
        reason=reason.strip(),
        requested_by=actor,
        requested_at=now,
    )
    session.add(refund)
    session.flush()
    record_event(
        session,
        action="refund.requested",
        subject_type="invoice",
        subject_id=payment.invoice.number,
        now=now,
        actor=actor,
        reason=refund.reason,
        data={
            "payment_id": payment.id,
            "refund": format_money(amount_minor, payment.currency),
            "stripe_refund_id": stripe_refund_id,
        },
    )
    return refund


def check_refund(payment: Payment, amount_minor: int, reason: str) -> None:
    """Refuse a refund the payment cannot give (not a Stripe payment, or too much)."""
    if payment.source != PaymentSource.STRIPE:
        raise ContributionError(_("Only a payment made through Stripe can be refunded here."))
    if payment.voided_at is not None:
        raise ContributionError(_("This payment is voided; it cannot be refunded."))
    amount_minor = _check_amount(amount_minor, positive=True)
    left = payment.refundable_minor
    if amount_minor > left:
        most = format_user_money(left, payment.currency)
        raise ContributionError(
            _(
                "At most %(amount)s of this payment can be refunded "
                "(other refunds await Stripe's confirmation).",
                amount=most,
            )
            if payment.refund_pending_minor
            else _("At most %(amount)s of this payment can be refunded.", amount=most)
        )
    if not reason.strip():
        raise ContributionError(_("Say why the money is refunded."))


def confirm_refund(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    stripe_refund_id: str | None,
    refunded_on: date,
    today: date,
    now: datetime,
) -> tuple[Refund, Change]:
    """Count a refund Stripe confirmed: the invoice and status are recomputed without it.

    A refund staff asked for (same Stripe id) is marked refunded; one made in Stripe's
    dashboard is recorded as it arrives.
    """
    refund = next(
        (r for r in payment.refunds if stripe_refund_id and r.stripe_refund_id == stripe_refund_id),
        None,
    )
    if refund is not None and refund.status == RefundStatus.REFUNDED:
        raise ContributionError(f"Refund {stripe_refund_id} is recorded already.")
    amount_minor = _check_amount(amount_minor, positive=True)
    if amount_minor > payment.counted_minor:
        raise ContributionError(
            f"Stripe reports a refund of {format_money(amount_minor, payment.currency)}, more "
            f"than the {format_money(payment.counted_minor, payment.currency)} this payment counts."
        )
    if refund is None:
        refund = Refund(
            payment=payment,
            currency=payment.currency,
            stripe_refund_id=stripe_refund_id,
            reason="Refunded in Stripe's dashboard.",
            requested_at=now,
        )
        session.add(refund)
    refund.amount_minor = amount_minor
    refund.status, refund.refunded_on = RefundStatus.REFUNDED.value, min(refunded_on, today)
    session.flush()
    invoice = payment.invoice
    refresh_settlement(invoice)
    change = remember_coverage(session, invoice.certification, today)
    record_event(
        session,
        action="payment.refunded",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        reason=refund.reason or None,
        data={
            **_invoice_data(invoice),
            "payment_id": payment.id,
            "refunded": format_money(amount_minor, payment.currency),
            "refunded_on": refund.refunded_on.isoformat(),
            "stripe_refund_id": stripe_refund_id,
            **change.as_data(),
        },
    )
    queue_template_mail(
        session,
        "payment_refunded.txt",
        to=[invoice.certification.mediator.email],
        now=now,
        refund=refund,
        payment=payment,
        invoice=invoice,
        status=in_sentence(change.after.status.label),
    )
    return refund, change


def fail_refund(session: Session, refund: Refund, *, now: datetime, detail: str) -> None:
    """Mark a refund staff asked for as failed at Stripe; the payment counts as before."""
    if refund.status != RefundStatus.REQUESTED:
        raise ContributionError("Only a refund awaiting Stripe's confirmation can fail.")
    refund.status = RefundStatus.FAILED.value
    session.flush()
    record_event(
        session,
        action="refund.failed",
        subject_type="invoice",
        subject_id=refund.payment.invoice.number,
        now=now,
        reason=detail,
        data={"payment_id": refund.payment_id, "stripe_refund_id": refund.stripe_refund_id},
    )


def tell_payment_received(session: Session, payment: Payment, *, now: datetime) -> None:
    """E-mail the mediator that a payment arrived, with the receipt once the invoice is settled."""
    from registry.contributions.receipts import receipt_attachment

    invoice = payment.invoice
    mediator = invoice.certification.mediator
    # The receipt is written in the language the mail is (the mediator's, see the mail service).
    language = mail_languages(session, [mediator.email])[mediator.email]
    with force_locale(language):
        attachment = receipt_attachment(invoice) if invoice.settled_on is not None else None
    queue_template_mail(
        session,
        "payment_received.txt",
        to=[mediator.email],
        now=now,
        attachments=[attachment] if attachment else [],
        payment=payment,
        invoice=invoice,
        mediator=mediator,
    )
