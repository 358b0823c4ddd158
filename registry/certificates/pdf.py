"""The printable certificate: one A4 page for one certification that is certified today.

The page states what the register said on the day it was issued, and no more: the holder, the
certification and its granted specialisations, the number, the grant date, the last covered
day and the issue date. A QR code opens the verify page for the number, which always answers
for the day it is opened; the page tells the reader to use it. The fonts (DejaVu Serif,
shipped with their licence in ``registry/static/fonts``) cover the names the register holds:
Łukasz, Nguyễn, Siobhán, Oğuz.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import segno
from flask_babel import gettext as _
from flask_babel import ngettext
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, PathPaintRule, WrapMode, XPos, YPos

from registry.formatting import format_day, format_number
from registry.i18n import current_language
from registry.mediators.specialisations import PublicSpecialisation
from registry.pdfstyle import BRAND, FAMILY, FONTS, INK, MUTED, RULE
from registry.search.verification import Verification

REGISTRY_NAME = "Mediator Registry"

# A4 portrait, in millimetres. Text runs between LEFT and RIGHT. The body (who is certified
# as what, and the specialisations) is centred between BODY_TOP and BODY_BOTTOM; a long name
# or list shrinks to fit there and never pushes the details or the QR code.
PAGE_WIDTH = 210
LEFT, RIGHT = 30, 180
WIDTH = RIGHT - LEFT
BODY_TOP, BODY_BOTTOM = 80, 192
DETAILS_TOP = 198
QR_TOP, QR_SIZE = 240, 34
# The name: the largest size that keeps it on one line, else on lines no taller than this.
NAME_SIZES = (28, 26, 24, 22, 20, 18, 16, 14, 12)
NAME_HEIGHT = 28
# The body's fixed heights: around the name, and above the list of specialisations.
HOLDER_HEIGHT = 39
LIST_HEAD = 12
# The space after each specialisation, so that entries that wrap stay apart.
ENTRY_GAP = 1.2
# Font sizes and column counts tried, in order, until the specialisations fit.
LIST_LAYOUTS = [(size, 1) for size in (12, 11, 10, 9)] + [(size, 2) for size in (9, 8, 7)]


@dataclass(frozen=True)
class Listing:
    """The specialisations as they will be set: columns of entries in one size."""

    columns: list[list[str]]
    size: float
    height: float


def certificate_pdf(verification: Verification, *, issued_on: date, verify_url: str) -> bytes:
    """Return the certificate of ``verification``, certified on ``issued_on``, as PDF bytes."""
    certification, valid_until = verification.certification, verification.outlook.valid_until
    if not verification.listed or certification is None or valid_until is None:
        raise ValueError("Only a certification that is certified today has a certificate.")
    name = verification.mediator.name
    pdf = _document(
        _("Certificate %(number)s: %(name)s", number=certification.certificate_number, name=name)
    )
    _frame(pdf)
    _heading(pdf)
    _body(pdf, name, certification.type_label, verification.specialisations)
    _details(
        pdf,
        [
            (_("Certificate number"), certification.certificate_number),
            (_("Granted on"), format_day(certification.granted_on)),
            (_("Valid until"), format_day(valid_until)),
            (_("Issued on"), format_day(issued_on)),
        ],
    )
    _check_today(pdf, verify_url)
    return bytes(pdf.output())


def _document(title: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(LEFT, 20, PAGE_WIDTH - RIGHT)
    for style, suffix in (("", ""), ("B", "-Bold"), ("I", "-Italic")):
        pdf.add_font(FAMILY, style, FONTS / f"DejaVuSerif{suffix}.ttf")
    pdf.set_title(title)
    pdf.set_author(REGISTRY_NAME)
    pdf.set_creator(REGISTRY_NAME)
    pdf.set_lang(current_language())
    pdf.add_page()
    return pdf


def _frame(pdf: FPDF) -> None:
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(0.9)
    pdf.rect(10, 10, 190, 277)
    pdf.set_line_width(0.25)
    pdf.rect(13.5, 13.5, 183, 270)


def _heading(pdf: FPDF) -> None:
    """The registry's seal and name, and the title."""
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(0.6)
    pdf.circle(PAGE_WIDTH / 2, 32, 10)
    pdf.set_line_width(0.2)
    pdf.circle(PAGE_WIDTH / 2, 32, 8.6)
    _line(pdf, "MR", y=28.2, height=7.6, size=13, style="B", color=BRAND)
    pdf.set_char_spacing(1.2)
    _line(pdf, REGISTRY_NAME.upper(), y=47, height=5, size=10.5, style="B", color=BRAND)
    pdf.set_char_spacing(0)
    _line(pdf, _("Certificate"), y=56, height=15, size=34, color=INK)
    _rule(pdf, y=74, width=36, color=BRAND, thickness=0.5)


def _body(pdf: FPDF, name: str, type_label: str, granted: Sequence[PublicSpecialisation]) -> None:
    """Who is certified as what, and the specialisations, centred in the body's space."""
    name_size, name_height, listing = _plan_body(pdf, name, [_entry(each) for each in granted])
    height = HOLDER_HEIGHT + name_height + (LIST_HEAD + listing.height if listing else 0)
    y = BODY_TOP + (BODY_BOTTOM - BODY_TOP - height) / 2
    _line(pdf, _("This is to certify that"), y=y, height=7, size=13, style="I")
    pdf.set_xy(LEFT, y + 10)
    pdf.set_font(FAMILY, "B", name_size)
    pdf.set_text_color(*INK)
    pdf.multi_cell(WIDTH, _leading(name_size), name, align=Align.C, new_x=XPos.LMARGIN)
    y = pdf.get_y() + 3
    _rule(pdf, y=y, width=100, color=RULE, thickness=0.3)
    certified_as = _("is certified by the Mediator Registry as a")
    _line(pdf, certified_as, y=y + 6, height=7, size=13, style="I")
    _line(pdf, type_label, y=y + 15, height=11, size=22, style="B", color=BRAND)
    if listing:
        _write_list(pdf, listing, y=y + 26)


def _plan_body(pdf: FPDF, name: str, entries: list[str]) -> tuple[float, float, Listing | None]:
    """Choose the name's size (and its height) and the list's layout.

    The largest name that leaves room for every specialisation; failing that, the largest
    name and as many specialisations as fit, with a line saying how many more there are.
    """
    names = _name_sizes(pdf, name)
    if not entries:
        return *names[0], None
    for size, height in names:
        listing = _fit_list(pdf, entries, _list_space(height), shorten=False)
        if listing:
            return size, height, listing
    size, height = names[0]
    return size, height, _fit_list(pdf, entries, _list_space(height), shorten=True)


def _list_space(name_height: float) -> float:
    return BODY_BOTTOM - BODY_TOP - HOLDER_HEIGHT - name_height - LIST_HEAD


def _leading(size: float) -> float:
    """The line height, in mm, for text of ``size`` points."""
    return size * 0.45


def _name_sizes(pdf: FPDF, name: str) -> list[tuple[float, float]]:
    """Return the sizes ``name`` may be set in, largest first, each with its height.

    Large sizes only while the name stays on one line; below that, on lines no taller than
    NAME_HEIGHT together. The smallest size is always allowed, so the list is never empty.
    """
    allowed = []
    for size in NAME_SIZES:
        pdf.set_font(FAMILY, "B", size)
        lines = len(pdf.multi_cell(WIDTH, text=name, dry_run=True, output=MethodReturnValue.LINES))
        height = lines * _leading(size)
        if lines == 1 or (size <= 22 and height <= NAME_HEIGHT) or size == NAME_SIZES[-1]:
            allowed.append((size, height))
    return allowed


def _fit_list(pdf: FPDF, entries: list[str], space: float, *, shorten: bool) -> Listing | None:
    """Set ``entries`` in the largest layout that fits ``space``, or None if none does.

    With ``shorten``, drop entries from the end (saying how many) until one fits.
    """
    for shown in range(len(entries), 0 if shorten else len(entries) - 1, -1):
        listed = entries[:shown]
        if shown < len(entries):
            more = len(entries) - shown
            listed.append(
                ngettext(
                    "and %(count)s more: see the verify page",
                    "and %(count)s more: see the verify page",
                    more,
                    count=format_number(more),
                )
            )
        for size, count in LIST_LAYOUTS:
            per_column = -(-len(listed) // count)
            columns = [listed[i : i + per_column] for i in range(0, len(listed), per_column)]
            height = max(_column_height(pdf, column, size, count) for column in columns)
            if height <= space:
                return Listing(columns, size, height)
    return None


def _column_width(count: int) -> float:
    """The width of the text in each of ``count`` columns (with a gutter between them)."""
    return WIDTH if count == 1 else WIDTH / count - 4


def _entry_height(size: float) -> float:
    return _leading(size) + 0.6


def _column_height(pdf: FPDF, entries: list[str], size: float, count: int) -> float:
    pdf.set_font(FAMILY, "", size)
    width = _column_width(count)
    return sum(
        pdf.multi_cell(width, _entry_height(size), entry, dry_run=True, output="HEIGHT") + ENTRY_GAP
        for entry in entries
    )


def _entry(specialisation: PublicSpecialisation) -> str:
    if specialisation.valid_until:
        return _(
            "%(name)s (granted %(day)s, valid until %(until)s)",
            name=specialisation.name,
            day=format_day(specialisation.granted_on),
            until=format_day(specialisation.valid_until),
        )
    return _(
        "%(name)s (granted %(day)s)",
        name=specialisation.name,
        day=format_day(specialisation.granted_on),
    )


def _write_list(pdf: FPDF, listing: Listing, *, y: float) -> None:
    heading = "with the specialisations granted by the registry"
    _line(pdf, heading, y=y + 4, height=6, size=11, style="I")
    pdf.set_font(FAMILY, "", listing.size)
    pdf.set_text_color(*INK)
    count = len(listing.columns)
    for index, column in enumerate(listing.columns):
        left = LEFT + index * WIDTH / count + (WIDTH / count - _column_width(count)) / 2
        pdf.set_xy(left, y + LIST_HEAD)
        for entry in column:
            pdf.multi_cell(
                _column_width(count),
                _entry_height(listing.size),
                entry,
                align=Align.C,
                new_x=XPos.LEFT,
            )
            pdf.set_xy(left, pdf.get_y() + ENTRY_GAP)


def _details(pdf: FPDF, details: list[tuple[str, str]]) -> None:
    """The certificate's facts in a two-by-two grid between two rules."""
    _rule(pdf, y=DETAILS_TOP, width=WIDTH, color=RULE, thickness=0.3)
    half = WIDTH / 2
    for index, (label, value) in enumerate(details):
        x, y = LEFT + (index % 2) * half, DETAILS_TOP + 5 + (index // 2) * 14
        pdf.set_xy(x, y)
        pdf.set_font(FAMILY, "", 8)
        pdf.set_text_color(*MUTED)
        pdf.set_char_spacing(0.6)
        pdf.cell(half, 4, label.upper(), align=Align.C)
        pdf.set_char_spacing(0)
        pdf.set_xy(x, y + 4.5)
        pdf.set_font(FAMILY, "B", _size_to_fit(pdf, value, width=half - 6, size=13, style="B"))
        pdf.set_text_color(*INK)
        pdf.cell(half, 6.5, value, align=Align.C)
    _rule(pdf, y=DETAILS_TOP + 32, width=WIDTH, color=RULE, thickness=0.3)


def _size_to_fit(pdf: FPDF, text: str, *, width: float, size: float, style: str) -> float:
    """Return ``size``, or less if ``text`` would be wider than ``width`` (a long number)."""
    pdf.set_font(FAMILY, style, size)
    return min(size, size * width / pdf.get_string_width(text))


def _check_today(pdf: FPDF, verify_url: str) -> None:
    """The QR code of the verify page, and what it is for."""
    _qr_code(pdf, verify_url, x=LEFT, y=QR_TOP, size=QR_SIZE)
    pdf.link(LEFT, QR_TOP, QR_SIZE, QR_SIZE, verify_url)
    text_left = LEFT + QR_SIZE + 8
    width = RIGHT - text_left
    pdf.set_xy(text_left, QR_TOP + 1)
    pdf.set_font(FAMILY, "B", 12)
    pdf.set_text_color(*BRAND)
    pdf.cell(width, 6, _("Check the status today"), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 9.5)
    pdf.set_text_color(*INK)
    pdf.set_xy(text_left, pdf.get_y() + 1.5)
    pdf.multi_cell(
        width,
        4.6,
        _(
            "Scan the code or visit the address below to see whether this certificate is valid "
            "today. This page shows the register on the day it was issued; certification is "
            "renewed yearly and can be suspended or revoked."
        ),
        align=Align.L,
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.set_xy(text_left, pdf.get_y() + 1.5)
    pdf.set_text_color(*BRAND)
    pdf.multi_cell(width, 4.6, verify_url, align=Align.L, wrapmode=WrapMode.CHAR, link=verify_url)


def _qr_code(pdf: FPDF, url: str, *, x: float, y: float, size: float) -> None:
    """Draw the QR code of ``url`` as one vector path (no seams between modules)."""
    qr = segno.make(url, error="m", micro=False)
    rows = list(qr.matrix_iter(scale=1, border=0))
    unit = size / len(rows)
    with pdf.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as path:
        path.style.fill_color = "#000000"
        path.style.stroke_color = None
        for row_index, row in enumerate(rows):
            start = None
            for column, dark in enumerate([*row, False]):
                if dark and start is None:
                    start = column
                elif not dark and start is not None:
                    path.rectangle(
                        x + start * unit, y + row_index * unit, (column - start) * unit, unit
                    )
                    start = None


def _line(
    pdf: FPDF,
    text: str,
    *,
    y: float,
    height: float,
    size: float,
    style: str = "",
    color: tuple[int, int, int] = MUTED,
) -> None:
    """Write one centred line of ``text`` at ``y``; the cursor moves below it."""
    pdf.set_font(FAMILY, style, size)
    pdf.set_text_color(*color)
    pdf.set_xy(LEFT, y)
    pdf.cell(WIDTH, height, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _rule(
    pdf: FPDF, *, y: float, width: float, color: tuple[int, int, int], thickness: float
) -> None:
    pdf.set_draw_color(*color)
    pdf.set_line_width(thickness)
    left = (PAGE_WIDTH - width) / 2
    pdf.line(left, y, left + width, y)
