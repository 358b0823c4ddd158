"""Standards: versioned, published rules set in public consultation (issue 23).

Registered by ``create_app`` through ``registry.DOMAINS`` before ``audits``, which judges
programs against the versions published here.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet: the public pages and the standard-setting steps come next."""
