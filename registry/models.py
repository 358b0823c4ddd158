"""Every model module, imported so that ``Base.metadata`` knows every table (for Alembic).

The registry's own modules are imported by name; the domains outside the registry package
(``audits``, ...) are found through ``DOMAINS``, the registration list ``create_app`` reads,
so the registry never imports them by name.
"""

import importlib
import importlib.util

from registry import DOMAINS
from registry.accounts import models as accounts_models
from registry.contributions import models as contributions_models
from registry.credentials import models as credentials_models
from registry.database import Base
from registry.digests import models as digests_models
from registry.events import models as events_models
from registry.feedback import models as feedback_models
from registry.mail import models as mail_models
from registry.mediators import models as mediators_models
from registry.organisations import models as organisations_models
from registry.scheduling import models as scheduling_models
from registry.search import models as search_models
from registry.submissions import models as submissions_models

for _domain in DOMAINS:
    if not _domain.startswith("registry.") and importlib.util.find_spec(f"{_domain}.models"):
        importlib.import_module(f"{_domain}.models")

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "contributions_models",
    "credentials_models",
    "digests_models",
    "events_models",
    "feedback_models",
    "mail_models",
    "mediators_models",
    "metadata",
    "organisations_models",
    "scheduling_models",
    "search_models",
    "submissions_models",
]
