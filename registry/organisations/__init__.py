"""Organisations and the training and assessment programs they run."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Organisations have no pages of their own yet; the public directory comes with search."""
