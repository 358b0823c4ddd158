"""The receipt of a settled invoice: one A4 page the mediator downloads or gets by e-mail.

It says who received what from whom for which listing period: the registry's name and address
(``REGISTRY_NAME``, ``REGISTRY_ADDRESS``), the mediator, the period covered, the contribution,
the waiver if one applied, each payment that counts (date, method, reference, amount, less any
refund), the total and its currency, and the day the invoice was settled. Fonts and colours are
the certificate's (DejaVu Serif covers every name the register holds).
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from registry.contributions.models import Invoice, Payment, PaymentSource
from registry.formatting import format_day, format_money
from registry.i18n import current_language
from registry.mail.services import Attachment
from registry.pdfstyle import BRAND, FAMILY, FONTS, INK, MUTED, RULE

RECEIPT_PREFIX = "RCT-"
LEFT, RIGHT = 20, 190
WIDTH = RIGHT - LEFT
LABEL_WIDTH = 48


class NoReceipt(ValueError):
    """An invoice that has no receipt (yet): nothing settled it."""


def receipt_number(invoice: Invoice) -> str:
    """Return the receipt's number: one receipt per invoice, "RCT-0000042" for INV-0000042."""
    return f"{RECEIPT_PREFIX}{invoice.id:07d}"


def receipt_filename(invoice: Invoice) -> str:
    return f"receipt-{receipt_number(invoice)}.pdf"


@dataclass(frozen=True)
class Line:
    """One payment as the receipt lists it."""

    on: str
    method: str
    reference: str
    amount: str


def _lines(invoice: Invoice) -> list[Line]:
    lines = []
    for payment in invoice.counted_payments:
        if payment.counted_minor <= 0:
            continue
        lines.append(
            Line(
                on=format_day(payment.received_on),
                method=PaymentSource(payment.source).method,
                reference=_reference(payment),
                amount=_amount(payment),
            )
        )
    return lines


def _reference(payment: Payment) -> str:
    if payment.provider_reference:
        return payment.provider_reference
    return payment.note[:40] or _("payment %(id)s", id=payment.id)


def _amount(payment: Payment) -> str:
    amount = format_money(payment.counted_minor, payment.currency)
    if payment.refunded_minor:
        paid = format_money(payment.amount_minor, payment.currency)
        refunded = format_money(payment.refunded_minor, payment.currency)
        return _(
            "%(amount)s (paid %(paid)s, %(refunded)s refunded)",
            amount=amount,
            paid=paid,
            refunded=refunded,
        )
    return amount


def receipt_pdf(invoice: Invoice) -> bytes:
    """Return the receipt of settled ``invoice`` as PDF bytes; NoReceipt if it is not settled."""
    if invoice.settled_on is None:
        raise NoReceipt(
            _("Invoice %(number)s is not settled; it has no receipt yet.", number=invoice.number)
        )
    config = current_app.config
    number = receipt_number(invoice)
    pdf = _document(_("Receipt %(number)s", number=number), config["REGISTRY_NAME"])
    _header(pdf, config["REGISTRY_NAME"], config["REGISTRY_ADDRESS"])
    mediator = invoice.certification.mediator
    _facts(
        pdf,
        [
            (_("Receipt number"), number),
            (_("Date"), format_day(invoice.settled_on)),
            (_("Received from"), f"{mediator.name} <{mediator.email}>"),
            (
                _("Certificate"),
                f"{invoice.certification.type_label} {invoice.certification.certificate_number}",
            ),
            (_("For"), _("Listing contribution, invoice %(number)s", number=invoice.number)),
            (
                _("Period covered"),
                _(
                    "%(start)s to %(end)s",
                    start=format_day(invoice.period_start),
                    end=format_day(invoice.period_end),
                ),
            ),
            (_("Contribution"), format_money(invoice.amount_minor, invoice.currency)),
            (
                _("Waiver"),
                _waiver(invoice),
            ),
            (_("Currency"), invoice.currency),
        ],
    )
    _payments(pdf, _lines(invoice))
    _total(pdf, format_money(invoice.paid_minor, invoice.currency), invoice)
    return bytes(pdf.output())


def _waiver(invoice: Invoice) -> str:
    waiver = invoice.granted_waiver
    if waiver is None:
        return _("none")
    waived = format_money(invoice.waived_minor, invoice.currency)
    return _(
        "%(percent)s%% waived (%(amount)s): %(reason)s",
        percent=waiver.percent,
        amount=waived,
        reason=waiver.reason,
    )


def receipt_attachment(invoice: Invoice) -> Attachment:
    """Return the receipt of settled ``invoice`` as a mail attachment."""
    return Attachment(receipt_filename(invoice), "application/pdf", receipt_pdf(invoice))


def _document(title: str, registry_name: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(LEFT, 20, 210 - RIGHT)
    pdf.set_auto_page_break(True, margin=20)
    # Only the faces used: each one registered costs a font parse and a subset.
    for style, suffix in (("", ""), ("B", "-Bold")):
        pdf.add_font(FAMILY, style, FONTS / f"DejaVuSerif{suffix}.ttf")
    pdf.set_title(title)
    pdf.set_author(registry_name)
    pdf.set_creator(registry_name)
    pdf.set_lang(current_language())
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, text: str, *, size: float, style: str = "", color=INK, height=6.0) -> None:
    pdf.set_font(FAMILY, style, size)
    pdf.set_text_color(*color)
    pdf.multi_cell(WIDTH, height, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, name: str, address: str) -> None:
    _text(pdf, name, size=16, style="B", color=BRAND, height=8)
    for line in address.replace(";", "\n").splitlines():
        if line.strip():
            _text(pdf, line.strip(), size=10, color=MUTED, height=5)
    pdf.ln(6)
    _text(pdf, _("Receipt"), size=24, height=11)
    _rule(pdf)


def _rule(pdf: FPDF) -> None:
    pdf.ln(3)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line(LEFT, pdf.get_y(), RIGHT, pdf.get_y())
    pdf.ln(4)


def _facts(pdf: FPDF, facts: list[tuple[str, str]]) -> None:
    for label, value in facts:
        y = pdf.get_y()
        pdf.set_font(FAMILY, "", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(LABEL_WIDTH, 6.5, label.upper())
        pdf.set_font(FAMILY, "", 11)
        pdf.set_text_color(*INK)
        pdf.set_xy(LEFT + LABEL_WIDTH, y)
        pdf.multi_cell(WIDTH - LABEL_WIDTH, 6.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _rule(pdf)


def _payments(pdf: FPDF, lines: list[Line]) -> None:
    _text(pdf, _("Payments"), size=12, style="B", height=8)
    if not lines:
        _text(pdf, _("None: the waiver covers the contribution."), size=10, color=MUTED)
    else:
        pdf.set_font(FAMILY, "", 9.5)
        pdf.set_text_color(*INK)
        with pdf.table(
            col_widths=(30, 58, 42, 40),
            text_align=(Align.L, Align.L, Align.L, Align.R),
            line_height=6,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row((_("Date"), _("Method"), _("Reference"), _("Amount")))
            for line in lines:
                table.row((line.on, line.method, line.reference, line.amount))
    _rule(pdf)


def _total(pdf: FPDF, paid: str, invoice: Invoice) -> None:
    y = pdf.get_y()
    pdf.set_font(FAMILY, "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(WIDTH / 2, 8, _("Total received"))
    pdf.set_xy(LEFT + WIDTH / 2, y)
    pdf.cell(WIDTH / 2, 8, paid, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    values = {
        "number": invoice.number,
        "settled": format_day(invoice.settled_on),
        "start": format_day(invoice.period_start),
        "end": format_day(invoice.period_end),
    }
    _text(
        pdf,
        _(
            "Invoice %(number)s was settled on %(settled)s: the listing contribution for "
            "%(start)s to %(end)s is paid after the waiver.",
            **values,
        )
        if invoice.granted_waiver
        else _(
            "Invoice %(number)s was settled on %(settled)s: the listing contribution for "
            "%(start)s to %(end)s is paid.",
            **values,
        ),
        size=10,
        color=MUTED,
        height=5,
    )
