"""Audits are judged against the standard versions in force when they open (issue 23).

Migration 0019 made the audit criteria and rules version 1 of published standards. An audit
opened under version 1 keeps citing version 1 after version 2 is published; an audit opened
afterwards is judged against version 2.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from audits.jobs import sweep_audits
from audits.models import Audit, AuditStatus
from audits.queries import standard_set
from audits.reports import services
from audits.schedule import due_date
from audits.services import AuditError
from registry.database import utcnow
from standards.models import Standard, StandardRule, StandardVersion, VersionStatus
from standards.queries import versions_for_program_type
from tests.audit_factories import declare_and_assign, make_appraiser, make_chair
from tests.conftest import post_form
from tests.factories import PASSWORD, make_program
from tests.first_standards import first_criteria

D = date.fromisoformat
EVIDENCE = "Read the handbook and twelve files."
REWORDED = "Assessors are independent of the candidates and of their trainers"
NEW_RULE = "Candidates receive written reasons for every result"


def publish_qap_v2(session, on: date) -> StandardVersion:
    """Publish QAP version 2: QAP-3 reworded and a new criterion QAP-8."""
    standard = session.scalar(select(Standard).where(Standard.code == "QAP"))
    first = standard.versions[0]
    version = StandardVersion(
        standard=standard,
        number=2,
        status=VersionStatus.PUBLISHED,
        change_summary="QAP-3 covers trainers; QAP-8 is new.",
        created_at=utcnow(),
        published_on=on,
        published_at=utcnow(),
        rules=[
            StandardRule(
                code=rule.code,
                position=rule.position,
                body=REWORDED if rule.code == "QAP-3" else rule.body,
            )
            for rule in first.rules
        ]
        + [StandardRule(code="QAP-8", position=8, body=NEW_RULE)],
    )
    session.add(version)
    session.flush()
    return version


def report(codes, rule="QAP-7"):
    return {
        "findings": {code: ("met", EVIDENCE) for code in codes},
        "strengths": "Independent assessors.",
        "weaknesses": "Late results.",
        "summary": "Sound.",
        "recommendation": "renew",
        "conditions": "",
        "deviations": [(rule, "Results reached the registry late.")],
    }


def test_the_first_versions_hold_the_old_criteria_with_their_codes(session):
    versions = versions_for_program_type(session, "MAQAP", D("2026-12-07"))
    assert [version.label for version in versions] == ["QAP v1", "MAQAP v1", "GEN v1"]
    criteria = [(rule.code, rule.body) for rule in versions[0].rules + versions[1].rules]
    assert criteria == list(first_criteria("MAQAP"))
    assert [rule.code for rule in versions[2].rules] == ["GEN-1", "GEN-2", "GEN-3"]
    assert all(version.is_published for version in versions)
    coc = session.scalar(select(Standard).where(Standard.code == "COC"))
    assert coc.kind == "guidance" and coc.program_types == []


@pytest.fixture
def opened(ctx, session):
    """A QAP audit the daily job opened under version 1, with its appraiser assigned."""
    program = make_program(session, program_type="QAP", recognised_on=D("2025-01-15"))
    due = due_date(program.recognised_on)
    sweep_audits(session, due - timedelta(days=200), utcnow())
    sweep_audits(session, due - timedelta(days=100), utcnow())
    audit = session.scalar(select(Audit).where(Audit.program_id == program.id))
    assert audit.status == AuditStatus.OPEN
    chair = make_chair(session, "QAP")
    appraiser = make_appraiser(session, "QAP")
    declare_and_assign(session, audit, appraiser, chair=chair)
    return audit, appraiser


def test_an_audit_opened_under_version_1_cites_version_1_after_version_2(session, opened):
    audit, appraiser = opened
    assert [link.version.label for link in audit.standard_versions] == ["QAP v1", "GEN v1"]
    publish_qap_v2(session, on=audit.opened_on + timedelta(days=10))

    # The report is written after version 2's publication: version 1's criteria still apply.
    assert standard_set(session, audit).label == "QAP v1, GEN v1"
    codes = [criterion.code for criterion in first_criteria("QAP")]
    with pytest.raises(AuditError, match="QAP-8 is not a criterion of a QAP audit"):
        services.save_draft(
            session, audit, **report([*codes, "QAP-8"]), now=utcnow(), actor=appraiser
        )
    saved = services.save_draft(session, audit, **report(codes), now=utcnow(), actor=appraiser)
    services.submit_report(session, audit, now=utcnow(), actor=appraiser)

    cited = {finding.criterion: finding.rule for finding in saved.findings}
    assert {rule.version.number for rule in cited.values()} == {1}
    assert cited["QAP-3"].body == "Assessors are independent of the candidates they assess"
    (deviation,) = saved.deviations
    assert (deviation.rule, deviation.cited_rule.version.label) == ("QAP-7", "QAP v1")


def test_an_audit_opened_after_version_2_is_judged_against_it(ctx, session):
    publish_qap_v2(session, on=D("2026-01-01"))
    program = make_program(session, program_type="QAP", recognised_on=D("2025-01-15"))
    due = due_date(program.recognised_on)
    sweep_audits(session, due - timedelta(days=100), utcnow())
    audit = session.scalar(select(Audit).where(Audit.program_id == program.id))
    assert standard_set(session, audit).label == "QAP v2, GEN v1"
    chair, appraiser = make_chair(session, "QAP"), make_appraiser(session, "QAP")
    declare_and_assign(session, audit, appraiser, chair=chair)
    codes = [criterion.code for criterion in first_criteria("QAP")]
    services.save_draft(session, audit, **report(codes), now=utcnow(), actor=appraiser)
    with pytest.raises(AuditError, match="a rating for QAP-8"):
        services.submit_report(session, audit, now=utcnow(), actor=appraiser)
    saved = services.save_draft(
        session, audit, **report([*codes, "QAP-8"]), now=utcnow(), actor=appraiser
    )
    cited = {finding.criterion: finding.rule for finding in saved.findings}
    assert cited["QAP-3"].body == REWORDED and cited["QAP-8"].version.number == 2


def test_the_report_page_reads_version_1_in_the_page_language(client, session, opened):
    audit, appraiser = opened
    publish_qap_v2(session, on=audit.opened_on + timedelta(days=10))
    session.commit()
    post_form(client, "/login", {"email": appraiser.email, "password": PASSWORD})
    english = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert 'Judged against: <a href="/standards/QAP/1">QAP v1</a>, ' in english
    assert '<a href="/standards/GEN/1">GEN v1</a>.' in english
    assert "Assessors are independent of the candidates they assess" in english
    assert REWORDED not in english and NEW_RULE not in english
    french = client.get(f"/fr/audits/{audit.id}/report").get_data(as_text=True)
    assert "Assessors are independent of the candidates they assess" not in french
    assert "QAP-3" in french


def test_every_first_wording_is_marked_for_translation():
    """standards.wording lists exactly the texts migration 0019 writes, so each is translated."""
    from standards.wording import FIRST_WORDING
    from tests.first_standards import FIRST_VERSIONS

    written = {
        "The rules the registry applied when its standards were first published.",
        *(
            text
            for _c, title, _k, _a, purpose, rules in FIRST_VERSIONS
            for text in (title, purpose)
        ),
        *(rule for *_rest, rules in FIRST_VERSIONS for rule in rules),
    }
    assert written == FIRST_WORDING


def test_the_public_pages_read_the_first_wording_in_the_page_language(client):
    english = client.get("/standards/QAP/1").get_data(as_text=True)
    assert "Qualifying Assessment Program criteria" in english
    assert "Assessors are independent of the candidates they assess" in english
    french = client.get("/fr/standards/QAP/1").get_data(as_text=True)
    assert "Qualifying Assessment Program criteria" not in french
    assert "Assessors are independent of the candidates they assess" not in french
    assert "QAP-3" in french
    listing = client.get("/de/standards").get_data(as_text=True)
    assert "General rules for recognised programs" not in listing
