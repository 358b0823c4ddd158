"""What a verifier needs: the registry's keys, its issuer profile, the status lists, a page.

``/.well-known/jwks.json`` publishes the keys; ``/credentials/status/<list>/<purpose>`` each
signed status list (cacheable: an ETag and a short lifetime, so verifiers poll cheaply);
``/verify/credential`` checks a credential that someone shows you.
"""

import hashlib
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from registry.accounts.permissions import public
from registry.credentials.forms import CredentialForm
from registry.credentials.issuing import (
    ACHIEVEMENTS,
    MEDIA_TYPE,
    issuer_profile,
    sign,
    status_list_credential,
)
from registry.credentials.keys import keyring
from registry.credentials.models import StatusList, StatusPurpose
from registry.credentials.verifying import verify_credential
from registry.database import utcnow
from registry.extensions import db
from registry.mediators.models import CertificationType, Specialisation

bp = Blueprint("credentials", __name__)
well_known = Blueprint("well_known", __name__, url_prefix="/.well-known")

STATUS_LIST_MAX_AGE = 300
KEYS_MAX_AGE = 3600


@well_known.get("/jwks.json")
@public
def jwks() -> Response:
    """The public keys that sign the registry's credentials (retired keys are left out)."""
    return _public_json(keyring().jwks(), KEYS_MAX_AGE)


@bp.get("/credentials/issuer")
@public
def issuer() -> Response:
    """The registry's issuer Profile, with the keys it signs with."""
    return _public_json({**issuer_profile(), "jwks": keyring().jwks()}, KEYS_MAX_AGE)


@bp.get("/credentials/achievements/<kind>")
@public
def achievement(kind: str) -> Response:
    """What a certification of ``kind`` means (the credentials' ``achievement``)."""
    if kind not in {t.value for t in CertificationType}:
        abort(404)
    name, description = ACHIEVEMENTS[CertificationType(kind)]
    return _public_json(
        {"type": ["Achievement"], "name": name, "description": description}, KEYS_MAX_AGE
    )


@bp.get("/credentials/specialisations/<code>")
@public
def specialisation(code: str) -> Response:
    """What a specialisation is (the target of the credentials' alignments)."""
    found = db.session.get(Specialisation, code) if code.isprintable() else None
    if found is None:
        abort(404)
    body = {"code": found.code, "name": found.name, "grantedBy": issuer_profile()["id"]}
    return _public_json(body, KEYS_MAX_AGE)


@bp.get("/credentials/status/<int:list_id>/<purpose>")
@public
def status_list(list_id: int, purpose: str) -> Response:
    """One signed ``BitstringStatusListCredential``; revalidate with its ETag."""
    if purpose not in {p.value for p in StatusPurpose}:
        abort(404)
    found = db.session.get(StatusList, (list_id, purpose))
    if found is None:
        abort(404)
    keys = keyring()
    etag = hashlib.sha256(found.bits + keys.current_kid.encode()).hexdigest()[:32]
    response = current_app.response_class(mimetype=MEDIA_TYPE)
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = STATUS_LIST_MAX_AGE
    response.last_modified = found.updated_at
    conditional = response.make_conditional(request)
    if conditional.status_code == 304:
        return conditional
    response.set_data(sign(status_list_credential(found), utcnow()))
    return response


@bp.route("/verify/credential", methods=["GET", "POST"])
@public
def verify_page() -> ResponseReturnValue:
    """Check a credential someone shows you: pasted, or its file uploaded."""
    form = CredentialForm()
    result = None
    if form.validate_on_submit():
        result = verify_credential(db.session, form.credential_text(), utcnow())
    status = 200 if result is None or result.valid else 422
    return render_template("credentials/verify.html", form=form, result=result), status


def _public_json(body: dict[str, Any], max_age: int) -> Response:
    response = jsonify(body)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)
