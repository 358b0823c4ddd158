"""Standards: versioned, published rules set in public consultation (issue 23).

Registered by ``create_app`` through ``registry.DOMAINS`` before ``audits``, which judges
programs against the versions published here.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the standard-setting and public pages, 360 feedback, the daily sweep and the
    demo standards (the standard setting's first, so the public demo finds its consultations)."""
    from standards import feedback, feedback_views, public, views
    from standards.demo import load_standards_demo
    from standards.jobs import sweep_standards
    from standards.public_demo import load_public_demo
    from standards.wording import translated

    # The registry's own wording of the first versions reads in the page's language.
    app.add_template_filter(translated, "first_wording")
    app.register_blueprint(views.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(feedback_views.bp)
    # The organisation pages show each program's count of 360 feedback (registry/ may not
    # import standards/, so it reads the count through this hook).
    app.extensions["program_feedback_counts"] = feedback.program_feedback_counts
    demo_loaders = app.extensions.setdefault("demo_loaders", [])
    demo_loaders.extend([load_standards_demo, load_public_demo])
    app.extensions["jobs"].add_daily(
        "standards", sweep_standards, "Close public consultations after their closing date"
    )
