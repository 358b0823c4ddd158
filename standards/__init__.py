"""Standards: versioned, published rules set in public consultation (issue 23).

Registered by ``create_app`` through ``registry.DOMAINS`` before ``audits``, which judges
programs against the versions published here.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the standard-setting pages, the daily sweep and the demo standards."""
    from standards import views
    from standards.demo import load_standards_demo
    from standards.jobs import sweep_standards

    app.register_blueprint(views.bp)
    app.extensions.setdefault("demo_loaders", []).append(load_standards_demo)
    app.extensions["jobs"].add_daily(
        "standards", sweep_standards, "Close public consultations after their closing date"
    )
