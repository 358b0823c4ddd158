"""Audit reports pages (to be written)."""

from flask import Blueprint

bp = Blueprint("audit_reports", __name__)
