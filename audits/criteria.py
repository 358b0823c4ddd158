"""How many appraisers an audit needs. What it is judged against is the standards (``standards``).

Until standards were published the criteria and rules were constants here; migration 0019 made
them version 1 of the CMTP, QAP, MAQAP, ICQAP, ODRQAP and GEN standards, keeping every code.
"""

from registry.organisations.models import ProgramType


def required_appraisers(program_type: str) -> int:
    """Return how many appraisers an audit needs: two for a CMTP, one otherwise."""
    return 2 if ProgramType(program_type) is ProgramType.CMTP else 1
