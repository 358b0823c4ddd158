"""Standards: versioned, published rules set in public consultation (issue 23).

Registered by ``create_app`` through ``registry.DOMAINS`` before ``audits``, which judges
programs against the versions published here.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public pages of standards and the 360 feedback pages."""
    from standards import feedback, feedback_views, public
    from standards.public_demo import load_public_demo

    app.register_blueprint(public.bp)
    app.register_blueprint(feedback_views.bp)
    # The organisation pages show each program's count of 360 feedback (registry/ may not
    # import standards/, so it reads the count through this hook).
    app.extensions["program_feedback_counts"] = feedback.program_feedback_counts
    app.extensions.setdefault("demo_loaders", []).append(load_public_demo)
