"""Proof that travels: certifications as signed Open Badges 3.0 credentials.

Signing keys (``keys``), the Bitstring Status Lists kept in step with the statuses
(``models``, ``status``), issuing (``issuing``) and checking (``verifying``) credentials, and
the public addresses a verifier needs: the JWKS, the issuer profile, the status lists and the
"verify a credential" page (``views``).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.credentials import status
    from registry.credentials.views import bp, well_known

    status.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(well_known)
