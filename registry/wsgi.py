"""The WSGI entry point for gunicorn: ``gunicorn registry.wsgi:app``."""

from registry import create_app
from registry.credentials.keys import signing_key_problem

app = create_app()
# A site that cannot sign credentials must not start (production keys come from configuration).
if problem := signing_key_problem(app):
    raise SystemExit(problem)
