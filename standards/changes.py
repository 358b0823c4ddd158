"""What changed between two versions of a standard, rule by rule, computed from their rules.

A rule that keeps its code is the same rule: it is unchanged, or reworded (shown with a
word-level diff marked up with ``<del>``/``<ins>``); a code only in the new version is added,
one only in the old version removed.
"""

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from markupsafe import Markup, escape

from registry.i18n import _l


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    REWORDED = "reworded"
    UNCHANGED = "unchanged"

    @property
    def label(self) -> str:
        return str(CHANGE_LABELS[self])


CHANGE_LABELS = {
    Change.ADDED: _l("Added"),
    Change.REMOVED: _l("Removed"),
    Change.REWORDED: _l("Reworded"),
    Change.UNCHANGED: _l("Unchanged"),
}


@dataclass(frozen=True)
class RuleChange:
    code: str
    change: Change
    old: str | None
    new: str | None

    @property
    def diff(self) -> Markup:
        """The new text with removed words in ``<del>`` and added words in ``<ins>``."""
        return word_diff(self.old or "", self.new or "")


_MARKED = (
    '<{}><span class="visually-hidden">[{} </span>{}<span class="visually-hidden">]</span></{}>'
)
_CLOSE = Markup('<span class="visually-hidden">]</span>')
# Words and the spaces between them, so that the diff keeps the text's spacing.
_TOKENS = re.compile(r"\S+|\s+")


def word_diff(old: str, new: str) -> Markup:
    """Return ``new`` as HTML, marking words removed from ``old`` and words added."""
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    parts: list[Markup] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        removed = "".join(before[a_start:a_end])
        added = "".join(after[b_start:b_end])
        if operation == "equal":
            parts.append(escape(added))
            continue
        # Screen readers do not announce <del> and <ins>: say it in words they read.
        if removed:
            parts.append(
                Markup('<del><span class="visually-hidden">[{} </span>{}{}</del>').format(
                    _("removed:"), removed, _CLOSE
                )
            )
        if added:
            parts.append(
                Markup('<ins><span class="visually-hidden">[{} </span>{}{}</ins>').format(
                    _("added:"), added, _CLOSE
                )
            )
    return Markup("").join(parts)


def rule_changes(
    previous: Iterable[tuple[str, str]], current: Iterable[tuple[str, str]]
) -> list[RuleChange]:
    """Compare rules given as (code, text): the current order first, then the removed rules."""
    old = dict(previous)
    new = dict(current)
    changes = []
    for code, body in new.items():
        if code not in old:
            changes.append(RuleChange(code, Change.ADDED, None, body))
        elif old[code] != body:
            changes.append(RuleChange(code, Change.REWORDED, old[code], body))
        else:
            changes.append(RuleChange(code, Change.UNCHANGED, body, body))
    changes.extend(
        RuleChange(code, Change.REMOVED, body, None)
        for code, body in old.items()
        if code not in new
    )
    return changes
