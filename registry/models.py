"""Every model module, imported so that ``Base.metadata`` knows every table (for Alembic)."""

from registry.accounts import models as accounts_models
from registry.database import Base
from registry.events import models as events_models
from registry.mail import models as mail_models
from registry.scheduling import models as scheduling_models

metadata = Base.metadata

__all__ = ["accounts_models", "events_models", "mail_models", "metadata", "scheduling_models"]
