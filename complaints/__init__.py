"""Complaints: intake, the escalation chain, tracking without an account, the conduct process
(product brief §3). Registered by ``create_app`` through ``registry.DOMAINS``.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from complaints import views
    from complaints.demo import load_complaint_demo
    from complaints.jobs import flag_overdue_complaints, purge_closed_complaints, purge_tracking
    from complaints.models import ComplaintAttachment
    from complaints.services import FILE_SETTINGS
    from registry.uploads import register_folder

    views.register(app)
    register_folder(app, ComplaintAttachment.storage_name, **FILE_SETTINGS)
    app.extensions.setdefault("demo_loaders", []).append(load_complaint_demo)
    jobs = app.extensions["jobs"]
    jobs.add_daily(
        "complaints-overdue",
        flag_overdue_complaints,
        "Flag complaints whose level missed its time limit to acknowledge or respond, once;"
        " tell the level above, remind the handlers and the complainant",
    )
    jobs.add_daily(
        "purge-complaints",
        purge_closed_complaints,
        "Purge complaints closed longer than the retention period, their files and the"
        " e-mails to their complainants, keeping an anonymous count",
    )
    jobs.add_daily(
        "purge-tracking",
        purge_tracking,
        "Delete expired tracking tokens of complaints (a browser's hour of following one)",
    )
