"""CSV files the site writes and reads, written so that no spreadsheet runs a cell.

A spreadsheet that opens a CSV file runs a cell that starts with "=", "+", "-" or "@" (some
also after a tab, a carriage return or a line feed, some the full-width forms, and old Excel
"|" for DDE) as a formula: a mediator named ``=HYPERLINK("http://evil.example")`` becomes a
live link in a staff member's spreadsheet (CSV injection). Every CSV the site writes goes
through ``writer``, which puts an apostrophe, the spreadsheets' "this is text" mark, before such
a cell. ``restore`` takes it away again, so a file the registry exported imports unchanged.

defusedcsv does the same for the usual characters but not for tab, carriage return or line
feed, and rewrites "|" to "\\|", which no reader can tell from a real "\\|".

Excel reads a CSV file without a byte order mark in the machine's legacy code page, so
"Müller" opens as "MÃ¼ller"; ``writer(out, bom=True)`` starts the file with the UTF-8 BOM that
makes it read UTF-8 (every export offers this variant). The import drops a BOM.
"""

import csv
import re
from collections.abc import Iterable
from typing import IO

# The UTF-8 byte order mark, as text: written first, it tells spreadsheets the file is UTF-8.
BOM = "\ufeff"
# Characters that make a spreadsheet read a cell as a formula when they come first.
FORMULA_STARTS = "=+-@|\t\r\n\uff1d\uff0b\uff0d\uff20"
_NEUTRALISED = re.compile(f"'+[{re.escape(FORMULA_STARTS)}]")
_NEEDS_MARK = re.compile(f"'*[{re.escape(FORMULA_STARTS)}]")


def neutralise(value: object) -> str:
    """Return ``value`` as a cell no spreadsheet runs: "=1+1" becomes "'=1+1".

    A value that already starts with apostrophes before such a character gets one more, so
    ``restore`` gives every value back exactly.
    """
    text = "" if value is None else str(value)
    return f"'{text}" if _NEEDS_MARK.match(text) else text


def restore(cell: str) -> str:
    """Return the value ``neutralise`` wrote as ``cell`` (other cells stay as they are)."""
    return cell[1:] if _NEUTRALISED.match(cell) else cell


class SafeWriter:
    """A csv.writer whose every cell is neutralised."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow([neutralise(value) for value in values])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(out: IO[str], *, bom: bool = False) -> SafeWriter:
    """Return a CSV writer for ``out`` that no spreadsheet can be made to run a formula from.

    ``bom`` first writes the UTF-8 byte order mark, for spreadsheets (Excel) that need it.
    """
    if bom:
        out.write(BOM)
    return SafeWriter(out)
