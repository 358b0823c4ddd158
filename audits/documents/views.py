"""Audit documents pages (to be written)."""

from flask import Blueprint

bp = Blueprint("audit_documents", __name__)
