"""Find a Mediator, public profiles, certificate verification and the Verify Training list."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.search import services
    from registry.search.views import bp

    services.init_app(app)
    app.register_blueprint(bp)
    app.extensions["jobs"].add_daily(
        "prune-listings",
        services.prune_listings,
        "Drop search listings whose listing period ended",
    )
