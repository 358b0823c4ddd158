"""Operations: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.monitoring.metrics import init_metrics
    from registry.monitoring.views import bp

    init_metrics(app)
    app.register_blueprint(bp)
