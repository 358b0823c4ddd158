"""Complaints: intake, the escalation chain, tracking without an account, the conduct process
(product brief §3). Registered by ``create_app`` through ``registry.DOMAINS``.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from complaints import views

    views.register(app)
