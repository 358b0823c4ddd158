"""The outbox page: in development the place to read mail; in production its delivery state."""

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from registry.accounts.models import Role
from registry.accounts.permissions import role_required
from registry.extensions import db
from registry.mail.models import MailStatus, OutboxMessage
from registry.pagination import paginate
from registry.web import render_error

bp = Blueprint("mail", __name__, url_prefix="/staff/outbox")

PAGE_SIZE = 50


@bp.route("")
@role_required(Role.ADMINISTRATOR)
def index() -> ResponseReturnValue:
    status = request.args.get("status", "")
    page = request.args.get("page", "1")
    if status not in {"", *MailStatus} or not page.isdigit() or int(page) < 1:
        return render_error(400, _("Unknown status or page number."))
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    return render_template(
        "staff/outbox.html",
        result=paginate(db.session, query, int(page), PAGE_SIZE),
        status=status,
        statuses=list(MailStatus),
        status_labels={s.value: s.label for s in MailStatus},
        # Bodies hold one-time links; show them only where the outbox replaces sending.
        show_bodies=current_app.config["MAIL_BACKEND"] == "outbox",
    )
