"""The one CSV writer: no cell a spreadsheet runs as a formula, and every value comes back."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.csvfiles import FORMULA_STARTS, neutralise, restore, writer

FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "|calc",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",  # a full-width equals sign
]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_is_written_as_text(value):
    out = io.StringIO()
    writer(out).writerow(["Name", value, 7, None])
    cells = next(csv.reader(io.StringIO(out.getvalue())))
    assert cells == ["Name", f"'{value}", "7", ""]


@pytest.mark.parametrize("value", ["'t Hooft", "O'Connor", "a=b", "Zoë Müller", "", "2026-01-01"])
def test_ordinary_values_are_written_as_they_are(value):
    assert neutralise(value) == value
    assert restore(value) == value


@given(st.text())
def test_restore_gives_back_every_value(value):
    written = neutralise(value)
    assert not written.startswith(tuple(FORMULA_STARTS))
    assert restore(written) == value


def test_a_writer_for_excel_starts_with_the_byte_order_mark():
    out = io.StringIO()
    writer(out, bom=True).writerow(["Zoë Müller", "=1+1"])
    assert out.getvalue() == "\ufeffZoë Müller,'=1+1\r\n"
    plain = io.StringIO()
    writer(plain).writerow(["Zoë Müller"])
    assert plain.getvalue() == "Zoë Müller\r\n"
