"""Listing contributions: the fee schedule, invoices per listing period, payments, waivers.

Money is integer minor units plus an ISO 4217 currency code. An invoice is *settled* once its
payments and granted waiver together reach its amount; ``Invoice.settled_on`` is the date that
happened, recomputed from the payments and the waiver by ``services.refresh_settlement``
whenever either changes, so the status computation can ask "covered as of a date" in one query.
A voided payment (booked by mistake) stays on record with who voided it and why, and no longer
counts towards anything.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
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
        return {"full": "Full fee", "reduced_25": "25% reduction", "reduced_50": "50% reduction"}[
            self.value
        ]


class WaiverStatus(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"


class HoldStatus(StrEnum):
    HELD = "held"
    BOOKED = "booked"
    RETURNED = "returned"


class PaymentSource(StrEnum):
    STAFF = "staff"
    PROVIDER = "provider"


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
        return sum(payment.amount_minor for payment in self.counted_payments)

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
            "(source = 'provider') = (provider_reference IS NOT NULL)",
            name="provider_has_reference",
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
    provider_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    # The provider's id for the payment: held once, and never also booked by the webhook.
    provider_reference: Mapped[str] = mapped_column(String(100), unique=True)
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
