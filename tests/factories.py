"""Test data builders."""

from collections.abc import Iterable

from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.accounts.services import create_user
from registry.database import utcnow

PASSWORD = "correct horse battery"


def make_user(
    session: Session,
    *,
    email: str = "person@example.org",
    name: str = "Pat Person",
    roles: Iterable[Role] = (Role.MEDIATOR,),
    password: str = PASSWORD,
) -> User:
    user = create_user(
        session, email=email, name=name, password=password, roles=roles, now=utcnow()
    )
    session.flush()
    return user
