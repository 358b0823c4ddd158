"""The Flask extensions, created once here and bound to an app in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from registry.database import db
from registry.monitoring.metrics import count_rate_limit_rejection

__all__ = ["csrf", "db", "limiter", "login_manager"]

csrf = CSRFProtect()
login_manager = LoginManager()
# Limits are declared on the routes that need them; nothing is limited by default.
limiter = Limiter(
    key_func=get_remote_address, default_limits=[], on_breach=count_rate_limit_rejection
)
