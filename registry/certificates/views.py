"""The certificate PDF at a stable address beside the public profile.

Public, like the profile: it shows only what the profile shows while certified. A
certification that is not certified today gets no PDF but a page that says so, because an old
certificate must not be re-issued as if it were still valid.
"""

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from registry.accounts.permissions import public
from registry.certificates.pdf import certificate_pdf
from registry.clock import local_today
from registry.extensions import db
from registry.search.verification import verify_mediator

bp = Blueprint("certificates", __name__)

PDF_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'"


@bp.route("/mediators/<public_id>/certificate.pdf")
@public
def certificate(public_id: str) -> ResponseReturnValue:
    """The certificate of the mediator (or, with ``?type=advocate``, advocate) certification."""
    today = local_today()
    found = verify_mediator(db.session, public_id, today)
    if found is None:
        abort(404)
    kind = request.args.get("type")
    # Someone never granted a certification is answered as they are: not certified.
    chosen = found if kind is None and not found.certifications else found.held(kind)
    if chosen is None:  # an unknown type, or one the person does not hold
        abort(404)
    if not chosen.listed:
        page = render_template("certificates/not_certified.html", verification=chosen, today=today)
        return page, 404
    number = chosen.certification.certificate_number
    verify_url = current_app.config["PUBLIC_URL"] + url_for("search.verify", number=number)
    body = certificate_pdf(chosen, issued_on=today, verify_url=verify_url)
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="certificate-{number}.pdf"'
    # The status can change any day, so no copy may be kept and handed out later.
    response.headers["Cache-Control"] = "no-store"
    # The site's policy (object-src 'none', default-src 'self') would stop Chrome's PDF viewer,
    # which shows the file through an <embed> governed by the file's own policy; a PDF we
    # write holds no script, so only framing is refused.
    response.headers["Content-Security-Policy"] = PDF_CONTENT_SECURITY_POLICY
    return response
