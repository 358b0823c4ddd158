"""What a status means for the reader: until when it holds, what follows it, and in words.

A public status answer says "certified" or "lapsed"; a reader then has to know the rules to
tell how long that holds. ``outlook`` works it out from the ``Standing`` that
``registry.mediators.status`` computes, so the rules stay in one place: the last covered day,
the next change that follows from the recorded facts alone (only lapsing and striking are
dated in advance; a first payment or a suspension's lifting is not), and one plain sentence.

Each sentence is a single template with named placeholders, so it can be translated whole.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from registry.formatting import format_day
from registry.i18n import _l
from registry.mediators.models import Status
from registry.mediators.status import Standing

DAY = timedelta(days=1)

CERTIFIED = _l(
    "Certified: listing contribution paid until %(valid_until)s. "
    "Lapses on %(lapses_on)s unless renewed."
)
LAPSED = _l(
    "Not currently certified: the listing contribution has been overdue since %(lapsed_on)s. "
    "Paying it by %(last_grace_day)s restores certification; "
    "otherwise the certification is struck off on %(struck_on)s."
)
STRUCK = _l(
    "Not currently certified: struck off on %(struck_on)s after the grace period ended; "
    "only a new certification restores it."
)
SUSPENDED = _l(
    "Not currently certified: suspended since %(suspended_on)s "
    "as the outcome of a professional conduct process."
)
REVOKED = _l(
    "Not currently certified: revoked on %(revoked_on)s "
    "as the outcome of a professional conduct process; only a new certification restores it."
)
GRANTED_NOT_IN_EFFECT = _l(
    "Not yet certified: certification granted on %(granted_on)s takes effect "
    "when the first listing contribution is paid or waived."
)
NOT_GRANTED = _l("Not certified: certification has not been granted.")


@dataclass(frozen=True)
class NextChange:
    """A status change that will happen on a known day unless new facts are recorded."""

    on: date
    to: Status


@dataclass(frozen=True)
class Outlook:
    """A status explained: its last day if certified, the next dated change, a sentence."""

    valid_until: date | None
    next_change: NextChange | None
    explanation: str

    def as_json(self) -> dict[str, object]:
        """Return the outlook as the fields of a public status answer."""
        change = self.next_change
        return {
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "next_change": {"on": change.on.isoformat(), "to": change.to.value} if change else None,
            "explanation": self.explanation,
        }


def outlook(standing: Standing) -> Outlook:
    """Return what ``standing`` means: until when it holds, what follows it, and in words."""
    if standing.status is Status.CERTIFIED:
        return _certified(standing.covered_until)
    if standing.status is Status.LAPSED:
        return _lapsed(standing.since, standing.grace_ends_on)
    return Outlook(None, None, _explain_lasting(standing))


def _certified(last_covered_day: date) -> Outlook:
    lapses_on = last_covered_day + DAY
    explanation = str(CERTIFIED) % {
        "valid_until": format_day(last_covered_day),
        "lapses_on": format_day(lapses_on),
    }
    return Outlook(last_covered_day, NextChange(lapses_on, Status.LAPSED), explanation)


def _lapsed(lapsed_on: date, last_grace_day: date) -> Outlook:
    struck_on = last_grace_day + DAY
    explanation = str(LAPSED) % {
        "lapsed_on": format_day(lapsed_on),
        "last_grace_day": format_day(last_grace_day),
        "struck_on": format_day(struck_on),
    }
    return Outlook(None, NextChange(struck_on, Status.STRUCK), explanation)


def _explain_lasting(standing: Standing) -> str:
    """Explain a status that no dated change follows: it lasts until new facts are recorded."""
    since = format_day(standing.since)
    if standing.status is Status.STRUCK:
        return str(STRUCK) % {"struck_on": since}
    if standing.status is Status.SUSPENDED:
        return str(SUSPENDED) % {"suspended_on": since}
    if standing.status is Status.REVOKED:
        return str(REVOKED) % {"revoked_on": since}
    if standing.certification is None:
        return str(NOT_GRANTED)
    return str(GRANTED_NOT_IN_EFFECT) % {
        "granted_on": format_day(standing.certification.granted_on)
    }
