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
from registry.search.verification import Verification, verify_mediator

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
    chosen = _chosen(found, request.args.get("type"))
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


def _chosen(found: Verification, kind: str | None) -> Verification:
    """Return the certification of type ``kind``; by default the mediator one, else the one held.

    A person never granted any is answered as they are (not certified); an unknown type, or
    one the person does not hold, is not found.
    """
    if kind is None:
        # The person's certifications come in type order, the mediator one first.
        return found.certifications[0] if found.certifications else found
    for each in found.certifications:
        if each.certification and each.certification.certification_type == kind:
            return each
    abort(404)
