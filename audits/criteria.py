"""The criteria an audit checks per program type, and the rules a deviation may cite.

Each program type has its criteria (a report has one finding per criterion); every criterion
is also a rule, and the general rules apply to every program. Codes are stable: reports keep
them.
"""

from dataclasses import dataclass

from flask_babel import LazyString

from registry.i18n import _l
from registry.organisations.models import ProgramType


@dataclass(frozen=True)
class Criterion:
    code: str  # never translated
    text: LazyString

    @property
    def title(self) -> str:
        """Return the criterion's wording in the page's language."""
        return str(self.text)


_TRAINING = (
    Criterion("CMTP-1", _l("Published learning outcomes cover the registry's competency criteria")),
    Criterion(
        "CMTP-2", _l("At least 40 hours of training, half of it skills practice and role play")
    ),
    Criterion("CMTP-3", _l("Trainers are experienced mediators with recorded qualifications")),
    Criterion("CMTP-4", _l("Each trainee's performance is assessed and the result is recorded")),
    Criterion("CMTP-5", _l("Ethics, the code of conduct and confidentiality are taught")),
    Criterion("CMTP-6", _l("Intercultural awareness and diversity are part of the program")),
    Criterion("CMTP-7", _l("Completion is reported to the registry accurately and on time")),
)

_ASSESSMENT = (
    Criterion("QAP-1", _l("Assessment criteria and the process are published to candidates")),
    Criterion("QAP-2", _l("Candidates show the required mediation experience, with evidence")),
    Criterion("QAP-3", _l("Assessors are independent of the candidates they assess")),
    Criterion("QAP-4", _l("Assessment covers written evidence and an observed performance")),
    Criterion("QAP-5", _l("Candidates can appeal, and complaints about assessors are handled")),
    Criterion("QAP-6", _l("Assessment files are kept for audit for at least five years")),
    Criterion("QAP-7", _l("Results are reported to the registry accurately and on time")),
)

_SPECIALISED = {
    ProgramType.MAQAP: Criterion(
        "MAQAP-1", _l("Advocacy competencies are assessed in a mediation")
    ),
    ProgramType.ICQAP: Criterion(
        "ICQAP-1", _l("Intercultural competency is assessed with evidence")
    ),
    ProgramType.ODRQAP: Criterion(
        "ODRQAP-1", _l("Online mediation practice and tools are assessed")
    ),
}

CRITERIA: dict[ProgramType, tuple[Criterion, ...]] = {
    ProgramType.CMTP: _TRAINING,
    ProgramType.QAP: _ASSESSMENT,
    **{kind: (*_ASSESSMENT, extra) for kind, extra in _SPECIALISED.items()},
}

GENERAL_RULES = (
    Criterion("GEN-1", _l("The organisation cooperates with audits and answers requests on time")),
    Criterion("GEN-2", _l("Public information about the program and its recognition is accurate")),
    Criterion("GEN-3", _l("Records about mediators are kept confidential and secure")),
)


def criteria_for(program_type: str) -> tuple[Criterion, ...]:
    """Return the criteria a report on a program of ``program_type`` has findings for."""
    return CRITERIA[ProgramType(program_type)]


def rules_for(program_type: str) -> tuple[Criterion, ...]:
    """Return the rules a deviation in such a report may cite: the criteria, then general."""
    return (*criteria_for(program_type), *GENERAL_RULES)


def required_appraisers(program_type: str) -> int:
    """Return how many appraisers an audit needs: two for a CMTP, one otherwise."""
    return 2 if ProgramType(program_type) is ProgramType.CMTP else 1
