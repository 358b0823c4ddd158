"""Audit committee pages (to be written)."""

from flask import Blueprint

bp = Blueprint("audit_committee", __name__)
