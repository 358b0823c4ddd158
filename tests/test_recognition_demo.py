"""The recognition demo tells a consistent story: reports that agree with their ratings, one
reason per declined application, and the resubmission under its program's own name."""

import pytest
from sqlalchemy import select

from audits.demo import WEAKNESSES
from audits.models import AuditReport
from recognition.models import ProgramApplication
from registry.extensions import db
from registry.organisations.models import Program


@pytest.mark.xdist_group("demo")
def test_the_recognition_demo_is_consistent(demo):
    with db.transaction() as session:
        applications = session.scalars(
            select(ProgramApplication).join(Program).order_by(ProgramApplication.id)
        ).all()
        names = [application.program.name for application in applications]
        assert not [name for name in names if "revised" in name]
        resubmission = next(a for a in applications if a.resubmission_of_id)
        assert resubmission.program.name == "Peer Mediation Assessment"
        reasons = [a.reasons for a in applications if a.decision == "decline"]
        assert len(reasons) == 2 and len(set(reasons)) == 2
        online = next(a for a in applications if a.program.name == "Online Assessment Days")
        report = session.get(AuditReport, online.audit_id)
        ratings = {finding.criterion: finding.rating for finding in report.findings}
        assert report.weaknesses == WEAKNESSES and ratings["QAP-7"] == "partly"
        assert [d.rule for d in report.deviations] == ["QAP-7"]
        for application in applications:
            report = session.get(AuditReport, application.audit_id)
            if report is not None and report.weaknesses == WEAKNESSES:
                assert application.id == online.id
