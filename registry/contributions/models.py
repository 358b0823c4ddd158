"""Listing contributions: the fee schedule, invoices per listing period, payments, waivers.

Money is integer minor units plus an ISO 4217 currency code. An invoice is *settled* once its
payments and granted waiver together reach its amount; ``Invoice.settled_on`` is the date that
happened, recomputed from the payments and the waiver by ``services.refresh_settlement``
whenever either changes, so the status computation can ask "covered as of a date" in one query.
A voided payment (booked by mistake) stays on record with who voided it and why, and no longer
counts towards anything. A refund (of a card payment, through Stripe) counts once Stripe has
confirmed it: the payment then counts for its amount less what was refunded.
"""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l
from registry.mediators.models import Certification


class Tier(StrEnum):
    """Country tiers of the fee schedule."""

    FULL = "full"
    REDUCED_25 = "reduced_25"
    REDUCED_50 = "reduced_50"

    @property
    def reduction_percent(self) -> int:
        return {"full": 0, "reduced_25": 25, "reduced_50": 50}[self.value]

    @property
    def label(self) -> str:
        return str(TIER_LABELS[self.value])


TIER_LABELS = {
    Tier.FULL.value: _l("Full fee"),
    Tier.REDUCED_25.value: _l("%(percent)d%% reduction", percent=25),
    Tier.REDUCED_50.value: _l("%(percent)d%% reduction", percent=50),
}


class WaiverStatus(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        """The status as a word in a sentence ("requested")."""
        return {
            "requested": _("requested"),
            "granted": _("granted"),
            "refused": _("refused"),
        }[self.value]


class HoldStatus(StrEnum):
    HELD = "held"
    BOOKED = "booked"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        """The status as a word in a sentence ("held")."""
        return {"held": _("held"), "booked": _("booked"), "returned": _("returned")}[self.value]


class PaymentSource(StrEnum):
    STAFF = "staff"
    PROVIDER = "provider"  # the provider-neutral signed webhook
    STRIPE = "stripe"  # Stripe Checkout, through its webhook

    @property
    def label(self) -> str:
        return {
            "staff": _("recorded by staff"),
            "provider": _("payment provider"),
            "stripe": _("Stripe"),
        }[self.value]

    @property
    def method(self) -> str:
        """How the money came, as a receipt says it."""
        return {
            "staff": _("Bank transfer or other payment recorded by the registry"),
            "provider": _("Online payment (payment provider)"),
            "stripe": _("Card or other online payment (Stripe)"),
        }[self.value]


# Sources that carry the provider's id for the payment (for Stripe: the PaymentIntent id).
PROVIDER_SOURCES = (PaymentSource.PROVIDER, PaymentSource.STRIPE)


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # asked of Stripe by staff, not confirmed yet
    REFUNDED = "refunded"  # confirmed by Stripe: the payment counts this much less
    FAILED = "failed"  # Stripe could not refund it


class FeeRate(Base):
    """The full yearly listing contribution for listing periods starting in ``year``."""

    __tablename__ = "fee_rates"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("year BETWEEN 2000 AND 2200", name="plausible_year"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime]

    def amount_for(self, tier: Tier) -> int:
        """Return the contribution for ``tier``, rounded down to a whole minor unit."""
        return self.amount_minor * (100 - tier.reduction_percent) // 100


class CountryTier(Base):
    """The fee tier of a country; countries not listed pay the full fee."""

    __tablename__ = "country_tiers"
    __table_args__ = (CheckConstraint(f"tier IN ({sql_values(Tier)})", name="known_tier"),)

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    tier: Mapped[str] = mapped_column(String(10))


class Invoice(Base):
    """The listing contribution owed for one listing period of one certification."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("certification_id", "period_start"),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(f"tier IN ({sql_values(Tier)})", name="known_tier"),
        # The status query's access path: coverage of a certification as of a date.
        # (period_start too, for "restored on": both databases then scan the index only.)
        Index(
            "ix_invoices_coverage", "certification_id", "settled_on", "period_end", "period_start"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id"))
    period_start: Mapped[date]
    # The last day of the listing period this invoice covers.
    period_end: Mapped[date]
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    tier: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date]
    # The day payments and waiver first reached the amount; empty while anything is owed.
    settled_on: Mapped[date | None]

    certification: Mapped[Certification] = relationship(lazy="joined")
    payments: Mapped[list["Payment"]] = relationship(
        back_populates="invoice", order_by="(Payment.received_on, Payment.id)", lazy="selectin"
    )
    waivers: Mapped[list["Waiver"]] = relationship(
        back_populates="invoice", order_by="Waiver.id", lazy="selectin"
    )

    @property
    def tier_label(self) -> str:
        """The tier in the reader's language ("Full fee", "25% reduction")."""
        return Tier(self.tier).label

    @property
    def number(self) -> str:
        return format_invoice_number(self.id)

    @property
    def granted_waiver(self) -> "Waiver | None":
        return next((w for w in self.waivers if w.status == WaiverStatus.GRANTED), None)

    @property
    def waived_minor(self) -> int:
        waiver = self.granted_waiver
        return waiver.waived_minor if waiver else 0

    @property
    def counted_payments(self) -> list["Payment"]:
        """The payments that count towards the invoice: all but the voided ones."""
        return [payment for payment in self.payments if payment.voided_at is None]

    @property
    def paid_minor(self) -> int:
        return sum(payment.counted_minor for payment in self.counted_payments)

    @property
    def balance_minor(self) -> int:
        """What is still owed; negative when more was paid than owed (a credit)."""
        return self.amount_minor - self.waived_minor - self.paid_minor


INVOICE_PREFIX = "INV-"


def format_invoice_number(invoice_id: int) -> str:
    """Return the printed number of an invoice ("INV-0000042")."""
    return f"{INVOICE_PREFIX}{invoice_id:07d}"


def parse_invoice_number(number: str) -> int | None:
    """Return the invoice id in a printed number, or None if it is not one."""
    digits = number.strip().upper().removeprefix(INVOICE_PREFIX)
    return int(digits) if digits.isdigit() and len(digits) <= 12 else None


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(f"source IN ({sql_values(PaymentSource)})", name="known_source"),
        CheckConstraint(
            "(source IN ('provider', 'stripe')) = (provider_reference IS NOT NULL)",
            name="provider_has_reference",
        ),
        CheckConstraint(
            "source = 'stripe' OR stripe_checkout_session IS NULL", name="stripe_session_if_stripe"
        ),
        CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="voided_with_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(10))
    # The payment provider's id for the payment: the same event twice never counts twice.
    # For Stripe, the PaymentIntent id (one per Checkout Session that was paid).
    provider_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    # The Stripe Checkout Session the mediator paid through.
    stripe_checkout_session: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    # Set when staff void a payment booked by mistake: it then counts towards nothing.
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[recorded_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    refunds: Mapped[list["Refund"]] = relationship(
        back_populates="payment", order_by="Refund.id", lazy="selectin"
    )

    @property
    def refunded_minor(self) -> int:
        """What Stripe has confirmed as refunded of this payment."""
        return sum(r.amount_minor for r in self.refunds if r.status == RefundStatus.REFUNDED)

    @property
    def refund_pending_minor(self) -> int:
        return sum(r.amount_minor for r in self.refunds if r.status == RefundStatus.REQUESTED)

    @property
    def counted_minor(self) -> int:
        """What the payment counts towards its invoice: nothing once voided, less refunds."""
        return 0 if self.voided_at is not None else self.amount_minor - self.refunded_minor

    @property
    def refundable_minor(self) -> int:
        """What staff may still ask Stripe to refund."""
        if self.source != PaymentSource.STRIPE or self.voided_at is not None:
            return 0
        return self.counted_minor - self.refund_pending_minor


class Refund(Base):
    """Money given back on a Stripe payment: asked for by staff, or made in Stripe's dashboard.

    It counts (the payment covers less) only once Stripe confirms it through the webhook, on
    the day it confirmed it (``refunded_on``, the registry's calendar).
    """

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(f"status IN ({sql_values(RefundStatus)})", name="known_status"),
        CheckConstraint(
            "(status = 'refunded') = (refunded_on IS NOT NULL)", name="refunded_iff_dated"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))
    # Stripe's id (re_...); empty only for a dashboard refund Stripe reported without its id.
    stripe_refund_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Who asked for it; empty for a refund made in Stripe's dashboard.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    # The day Stripe confirmed it (registry calendar); from then on the payment counts less.
    refunded_on: Mapped[date | None]

    payment: Mapped[Payment] = relationship(back_populates="refunds")
    requested_by: Mapped[User | None] = relationship()


class StripeEvent(Base):
    """A Stripe webhook event handled: each event id is acted on once, whatever the retries."""

    __tablename__ = "stripe_events"

    # Stripe's event id (evt_...).
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    # When Stripe created the event.
    created_at: Mapped[datetime]
    received_at: Mapped[datetime]
    # What the registry did with it ("recorded", "held", "ignored", ...), and in words.
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")


class Waiver(Base):
    """A full (100%) or partial waiver of one invoice, asked for by the mediator or by staff."""

    __tablename__ = "waivers"
    __table_args__ = (
        CheckConstraint("percent BETWEEN 1 AND 100", name="percent_in_range"),
        CheckConstraint(f"status IN ({sql_values(WaiverStatus)})", name="known_status"),
        CheckConstraint(
            "(status = 'requested') = (decided_on IS NULL)", name="decided_unless_requested"
        ),
        # One granted waiver per invoice (several requests may be refused).
        Index(
            "uq_waivers_granted_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=text("status = 'granted'"),
            postgresql_where=text("status = 'granted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    percent: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The waiver counts towards the invoice from this day.
    decided_on: Mapped[date | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    invoice: Mapped[Invoice] = relationship(back_populates="waivers")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def waived_minor(self) -> int:
        return self.invoice.amount_minor * self.percent // 100


class HeldPayment(Base):
    """A payment the provider reported that is kept out of the books until staff decide.

    The webhook holds a payment for an invoice already settled, or for more than it owes: it
    is booked only when a member of staff says so, or marked as returned to the payer.
    """

    __tablename__ = "held_payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(f"status IN ({sql_values(HoldStatus)})", name="known_status"),
        CheckConstraint("(status = 'held') = (decided_at IS NULL)", name="decided_unless_held"),
        CheckConstraint("source IN ('provider', 'stripe')", name="known_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    # The provider's id for the payment: held once, and never also booked by the webhook.
    provider_reference: Mapped[str] = mapped_column(String(100), unique=True)
    # Which webhook reported it (provider or stripe), and for Stripe the Checkout Session.
    source: Mapped[str] = mapped_column(String(10), default=PaymentSource.PROVIDER.value)
    stripe_checkout_session: Mapped[str | None] = mapped_column(String(100))
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date]
    # Why it was held, in words for staff.
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=HoldStatus.HELD.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    invoice: Mapped[Invoice] = relationship(lazy="joined")
    decided_by: Mapped[User | None] = relationship()
