"""Staff browse and filter the event log."""

from flask import Blueprint, render_template, request

from registry.accounts.models import STAFF_ROLES
from registry.accounts.permissions import role_required
from registry.events.forms import EventFilterForm
from registry.events.queries import EventFilter, find_events, known_actions
from registry.extensions import db

bp = Blueprint("events", __name__, url_prefix="/staff/events")


@bp.route("")
@role_required(*STAFF_ROLES)
def index() -> str:
    form = EventFilterForm(request.args, actions=known_actions(db.session))
    if request.args and not form.validate():
        return render_template("staff/events.html", form=form, result=None), 400
    wanted = EventFilter(
        action=form.action.data or None,
        actor_email=form.actor.data or None,
        subject_type=form.subject_type.data or None,
        subject_id=form.subject_id.data or None,
        since=form.since.data,
        until=form.until.data,
    )
    result = find_events(db.session, wanted, page=form.page.data or 1)
    return render_template("staff/events.html", form=form, result=result)
