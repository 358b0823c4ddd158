"""One page of a query's results, with what the page links need."""

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    number: int
    size: int
    # The total is a floor: counting stopped there, and more match (a capped search count).
    total_is_lower_bound: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(
    session: Session,
    query: Select,
    number: int,
    size: int,
    *,
    rows: bool = False,
    total: int | None = None,
) -> Page:
    """Return page ``number`` (from 1) of ``query``, which must already be ordered.

    Items are the first column's values, or whole rows with ``rows=True``. ``total``, when
    the caller already counted the matches, saves counting them again.
    """
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    window = query.offset((number - 1) * size).limit(size)
    items = session.execute(window).all() if rows else session.scalars(window)
    return Page(items=list(items), total=total or 0, number=number, size=size)
