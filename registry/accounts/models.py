"""Accounts and roles. One person may hold several roles."""

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.database import Base, sql_values
from registry.i18n import _l


class Role(StrEnum):
    """The roles of the product brief."""

    MEDIATOR = "mediator"
    ORGANISATION_ADMIN = "organisation_admin"
    PEER_REVIEWER = "peer_reviewer"
    APPRAISER = "appraiser"
    SUPPORT = "support"
    EXECUTIVE_DIRECTOR = "executive_director"
    COMMITTEE_MEMBER = "committee_member"
    BOARD_MEMBER = "board_member"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.MEDIATOR: _l("Mediator / advocate"),
    Role.ORGANISATION_ADMIN: _l("Organisation admin"),
    Role.PEER_REVIEWER: _l("Peer reviewer"),
    Role.APPRAISER: _l("Appraiser"),
    Role.SUPPORT: _l("Support staff"),
    Role.EXECUTIVE_DIRECTOR: _l("Executive director"),
    Role.COMMITTEE_MEMBER: _l("Committee / taskforce member"),
    Role.BOARD_MEMBER: _l("Board member"),
    Role.ADMINISTRATOR: _l("Administrator"),
}

# The registry's own staff: the people who handle payments, complaints and the event log.
STAFF_ROLES = frozenset(
    {
        Role.SUPPORT,
        Role.EXECUTIVE_DIRECTOR,
        Role.COMMITTEE_MEMBER,
        Role.BOARD_MEMBER,
        Role.ADMINISTRATOR,
    }
)


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored trimmed and lower-cased, so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Set when an administrator disables the account; a disabled account cannot sign in.
    disabled_at: Mapped[datetime | None]
    # The language of the person's pages and e-mails ("fr"); None: as their browser asks.
    locale: Mapped[str | None] = mapped_column(String(8))

    role_grants: Mapped[list["UserRole"]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(grant.role) for grant in self.role_grants)

    def has_role(self, *roles: Role) -> bool:
        """Return whether the person holds any of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_staff(self) -> bool:
        return self.has_role(*STAFF_ROLES)

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    # The login id of the sign-in this request runs under ("<sign-in id>:<secret>"), set by
    # services.start_sign_in and by the user loader; not stored.
    login_id = None

    # UserMixin compares people by get_id(), which names a sign-in; compare rows instead (the
    # session's identity map gives one object per row).
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def get_id(self) -> str:
        if self.login_id is None:
            raise RuntimeError("no sign-in: call services.start_sign_in before login_user")
        return self.login_id


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({sql_values(Role)})", name="known_role"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="role_grants")


class PasswordResetToken(Base):
    """A one-time password reset link. Only a hash of the secret is kept."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        CheckConstraint("used_at IS NULL OR used_at >= created_at", name="used_after_created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class SignIn(Base):
    """One browser signed in to an account; its session and remember-me cookie name it.

    The cookies carry "<id>:<secret>"; only a hash of the secret is kept. Signing out deletes
    the row, so a copy of the cookie taken before stops working at once; "sign out everywhere",
    a password change and a reset delete every row of the account.
    """

    __tablename__ = "sign_ins"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # The session's lifetime, or the remember-me cookie's when the person asked to be kept
    # signed in; the daily purge-sign-ins job deletes rows past it.
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User] = relationship(lazy="joined")


class SignInThrottle(Base):
    """Failed sign-ins in a row for one address, or for one browser trusted with an account.

    ``key`` is a hash of "account:<address>" (any address, with or without an account, so the
    answer tells nothing) or of "device:<nonce>" (a browser that signed in to the account
    before). After a few failures each next one doubles the wait before the key may try again.
    """

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    # No attempt with this key is checked before this instant.
    blocked_until: Mapped[datetime | None]
