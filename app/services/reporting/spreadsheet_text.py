"""Text that goes into a spreadsheet export stays text.

A spreadsheet program treats a cell that starts with `=`, `+`, `-` or `@` (and, after a tab or a
carriage return, whatever follows) as a formula. Names, unit names and notes come from imports and
forms, so a person named `=HYPERLINK("http://…","bấm vào đây")` would otherwise become a live link (or
worse, a DDE command) in the file an HR officer opens. Every Excel and CSV export passes its cells
through this module:

- Excel (openpyxl): the cell keeps the exact text, is stored as a string (`data_type` "s", never a
  formula "f") and carries the quote-prefix style, so Excel shows the text and does not turn it into a
  formula when someone edits the cell.
- CSV has no types: the value gets a leading `'` (OWASP's advice), which spreadsheet programs hide
  and which a reader of the raw file recognises.

The XML inside an Excel file cannot hold control characters (other than tab and line breaks): openpyxl
refuses such a value, so one reason typed with an escape character in it made the whole unit's export
a 500. `sheet_value` drops them from what a cell receives.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


# what openpyxl's ILLEGAL_CHARACTERS_RE refuses: C0 controls but tab, LF and CR
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def sheet_value(value: Any) -> Any:
    """A value an Excel cell can hold: text without the control characters XML has no place for."""
    return _NOT_IN_XML.sub("", value) if isinstance(value, str) else value


def keep_cell_text(cell) -> None:
    """Make one openpyxl cell that holds formula-like text a plain string cell with the same text."""
    value = cell.value
    if cell.data_type == "f" or looks_like_formula(value):
        cell.value = str(value)  # the setter would type "=…" as a formula again: override after
        cell.data_type = "s"
        cell.quotePrefix = True


def keep_workbook_text(workbook) -> None:
    """Apply `keep_cell_text` to every cell of every sheet. The exports write no formulas of their own,
    so any formula cell came from data and becomes text."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    keep_cell_text(cell)


def csv_field(value: Any) -> Any:
    """One CSV field: formula-like text gets a leading apostrophe; everything else is unchanged."""
    return "'" + value if looks_like_formula(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_field(v) for v in values]
