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
# Words and punctuation marks apart, so that "experience," and "experience" share the word.
_TOKENS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into its tokens and the spacing written before each of them."""
    tokens, spaces, end = [], [], 0
    for match in _TOKENS.finditer(text):
        tokens.append(match.group())
        spaces.append(text[end : match.start()])
        end = match.end()
    return tokens, spaces


def _joined(tokens: list[str], spaces: list[str]) -> str:
    """The tokens with their spacing, but none before the first (it goes outside the mark)."""
    return "".join(
        (space if index else "") + token
        for index, (token, space) in enumerate(zip(tokens, spaces, strict=True))
    )


def word_diff(old: str, new: str) -> Markup:
    """Return ``new`` as HTML, marking words removed from ``old`` and words added."""
    before, before_spaces = _tokens(old)
    after, after_spaces = _tokens(new)
    parts: list[Markup] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if operation == "equal":
            parts.append(
                escape(
                    "".join(
                        space + token
                        for token, space in zip(
                            after[b_start:b_end], after_spaces[b_start:b_end], strict=True
                        )
                    )
                )
            )
            continue
        # Screen readers do not announce <del> and <ins>: say it in words they read.
        if a_end > a_start:
            parts.append(escape(before_spaces[a_start] if b_start else ""))
            parts.append(
                Markup('<del><span class="visually-hidden">[{} </span>{}{}</del>').format(
                    _("removed:"),
                    _joined(before[a_start:a_end], before_spaces[a_start:a_end]),
                    _CLOSE,
                )
            )
        if b_end > b_start:
            parts.append(escape(after_spaces[b_start]))
            parts.append(
                Markup('<ins><span class="visually-hidden">[{} </span>{}{}</ins>').format(
                    _("added:"), _joined(after[b_start:b_end], after_spaces[b_start:b_end]), _CLOSE
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
