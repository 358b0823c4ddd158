"""Program recognition (issue 23): organisations apply, the subcommittee appraises, the chair
decides.

Design (decided first, to reuse the audits machinery rather than copy it):

- The program applied for is a ``Program`` row whose ``recognised_on`` stays empty until the
  chair recognises it. ``Organisation.programs`` and every query that lists programs, computes
  their statuses or schedules audits select recognised programs only (``Program.is_recognised``),
  so a program applied for or declined never shows publicly and is never audited.
- Its appraisal is an ``Audit`` of kind "recognition" on that program, opened on submission and
  linked to the standard versions in force that day (``AuditStandardVersion``). The audit pages
  do the rest unchanged: the subcommittee's pool declares conflicts of interest, the chair
  assigns appraisers (the same gate: a conflicted appraiser cannot be assigned), appraisers
  request documents (confidential uploads), write the report with its findings per rule and
  submit it to the chair. The documents required with the application are uploaded as the
  answer of one document request per required document, so they are confidential exactly as
  audit documents are.
- ``ProgramApplication`` is the organisation-facing record: who applied, when, the chair's
  decision with its reasons (and conditions), and the declined application it resubmits. Its
  status is computed from the decision and the appraisal.
- The chair decides on the application page instead of signing off the audit: the decision
  completes the recognition audit (its outcome is the recognition, with or without conditions,
  or the refusal) and, for a recognition, dates the program. The audits daily job then
  schedules its first audit (``audits.schedule.due_date`` from the recognition date).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from recognition import views
    from recognition.demo import load_recognition_demo
    from recognition.queries import applications_of

    app.register_blueprint(views.bp)
    app.extensions["organisation_applications"] = applications_of
    app.extensions.setdefault("demo_loaders", []).append(load_recognition_demo)
