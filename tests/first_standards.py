"""The criteria of the first standard versions, as migration 0019 published them.

Tests that fill in a report by hand read the codes and English wording from here rather than
from the database.
"""

import importlib
from typing import NamedTuple

FIRST_VERSIONS = importlib.import_module(
    "registry.migrations.versions.0019_standards"
).FIRST_VERSIONS


class Criterion(NamedTuple):
    code: str
    title: str


def first_criteria(program_type: str) -> list[Criterion]:
    """Return the version 1 criteria a report on a ``program_type`` program has findings for."""
    standards = [
        (code, rules, applies_to.split())
        for code, _title, kind, applies_to, _purpose, rules in FIRST_VERSIONS
        if kind == "criteria" and program_type in applies_to.split()
    ]
    standards.sort(key=lambda standard: (-len(standard[2]), standard[0]))
    return [
        Criterion(f"{code}-{number}", body)
        for code, rules, _types in standards
        for number, body in enumerate(rules, start=1)
    ]
