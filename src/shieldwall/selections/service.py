"""A selection is a saved filter over the store, compiled to SQL on top of the policy filter.

It narrows, never widens: every read through a selection is `visible_filter(viewer) AND
selection`, so whatever a collection, feed, peer rule or subscription is defined as, nobody reads
through it what the policy does not let them see. What cannot be written in SQL (an indicator's
score, which depends on the viewer's visible sightings) is applied by the reader that needs it.

A member-kind filter matches what members of those kinds shared under their own name: an
anonymous contribution matches none, or a selection would tell its readers what kind of member
stands behind the broker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Table, and_, or_, select, true

from shieldwall.db import utc_now
from shieldwall.errors import Invalid, NotFound
from shieldwall.markings import TLP
from shieldwall.members.service import MEMBER_KINDS
from shieldwall.members.tables import members, sharing_groups
from shieldwall.selections.tables import selections

_TYPE_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True, slots=True)
class Selection:
    """What a selection lets through; the empty selection lets everything through."""

    types: tuple[str, ...] = ()
    max_tlp: TLP | None = None
    labels: tuple[str, ...] = ()
    sharing_group_id: str | None = None
    member_kinds: tuple[str, ...] = ()
    min_score: float | None = None
    max_age_days: int | None = None

    def __post_init__(self) -> None:
        for type_ in self.types:
            if not (3 <= len(type_) <= 250 and set(type_) <= _TYPE_NAME_CHARACTERS):
                raise Invalid(f"{type_!r} is not a STIX type name")
        for kind in self.member_kinds:
            if kind not in MEMBER_KINDS:
                raise Invalid(
                    f"unknown member kind {kind!r}; expected one of {', '.join(MEMBER_KINDS)}"
                )
        if self.min_score is not None and not 0 <= self.min_score <= 100:
            raise Invalid("min_score must be between 0 and 100")
        if self.max_age_days is not None and self.max_age_days < 1:
            raise Invalid("max_age_days must be at least 1")

    def where(self, table: Table, *, now: datetime | None = None) -> ColumnElement[bool]:
        """The SQL form, for a table with the objects' columns (type, tlp, labels,
        sharing_group_id, member_id, anonymous, date_added)."""
        c = table.c
        clauses: list[ColumnElement[bool]] = []
        if self.types:
            clauses.append(c.type.in_(self.types))
        if self.max_tlp is not None:
            clauses.append(c.tlp <= int(self.max_tlp))
        if self.labels:
            clauses.append(or_(*(c.labels.like(f"%|{_like_escape(label)}|%", escape="\\")
                                 for label in self.labels)))  # fmt: skip
        if self.sharing_group_id is not None:
            clauses.append(c.sharing_group_id == self.sharing_group_id)
        if self.member_kinds:
            kinds = select(members.c.id).where(members.c.kind.in_(self.member_kinds))
            clauses.append(and_(c.anonymous.is_(False), c.member_id.in_(kinds)))
        if (since := self._since(now)) is not None:
            clauses.append(c.date_added >= since)
        return and_(true(), *clauses) if clauses else true()

    def admits(self, row: Any, member_kind: str | None, *, now: datetime | None = None) -> bool:
        """The predicate form, for one stored row in hand (and its contributor's kind)."""
        if self.types and row["type"] not in self.types:
            return False
        if self.max_tlp is not None and row["tlp"] > int(self.max_tlp):
            return False
        if self.labels and not any(f"|{label}|" in (row["labels"] or "") for label in self.labels):
            return False
        if self.sharing_group_id is not None and row["sharing_group_id"] != self.sharing_group_id:
            return False
        if self.member_kinds and (row["anonymous"] or member_kind not in self.member_kinds):
            return False
        since = self._since(now)
        return since is None or row["date_added"] >= since

    def _since(self, now: datetime | None) -> str | None:
        """The oldest date_added `max_age_days` lets through, as stored; None when it sets no
        bound, so too when it reaches back before any object was added here, or past the
        calendar's start (max_age_days=99999999 from a query string: every object, not an
        OverflowError's 500; nor a year of three digits, which sorts after every stored one)."""
        if self.max_age_days is None:
            return None
        try:
            since = (now or datetime.now(UTC)) - timedelta(days=self.max_age_days)
        except OverflowError:
            return None
        return None if since.year < 1970 else since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def as_dict(self) -> dict[str, Any]:
        return {
            "types": list(self.types),
            "max_tlp": self.max_tlp.label if self.max_tlp is not None else None,
            "labels": list(self.labels),
            "sharing_group": self.sharing_group_id,
            "member_kinds": list(self.member_kinds),
            "min_score": self.min_score,
            "max_age_days": self.max_age_days,
        }


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse(data: dict[str, Any]) -> Selection:
    """A Selection from its JSON form (as `as_dict` writes it); Invalid on anything else."""
    known = {"types", "max_tlp", "labels", "sharing_group", "member_kinds", "min_score",
             "max_age_days"}  # fmt: skip
    if unknown := set(data) - known:
        raise Invalid(f"unknown selection field(s) {', '.join(sorted(unknown))}; "
                      f"expected {', '.join(sorted(known))}")  # fmt: skip
    try:
        max_tlp = data.get("max_tlp")
        return Selection(
            types=tuple(_strings(data, "types")),
            max_tlp=TLP.parse(max_tlp) if max_tlp is not None else None,
            labels=tuple(_strings(data, "labels")),
            sharing_group_id=data.get("sharing_group"),
            member_kinds=tuple(_strings(data, "member_kinds")),
            min_score=data.get("min_score"),
            max_age_days=data.get("max_age_days"),
        )
    except (ValueError, TypeError) as exc:
        raise Invalid(str(exc)) from None


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{name} must be a list of strings")
    return value


def create(conn: Connection, name: str, selection: Selection) -> str:
    """Save a selection; its id. The sharing group it names must exist."""
    if not name.strip():
        raise Invalid("a selection needs a name")
    if (
        selection.sharing_group_id is not None
        and conn.scalar(
            select(sharing_groups.c.id).where(sharing_groups.c.id == selection.sharing_group_id)
        )
        is None
    ):
        raise NotFound("no such sharing group")
    selection_id = str(uuid.uuid4())
    conn.execute(selections.insert().values(
        id=selection_id, name=name.strip(), types=orjson.dumps(list(selection.types)).decode(),
        max_tlp=int(selection.max_tlp) if selection.max_tlp is not None else None,
        labels=orjson.dumps(list(selection.labels)).decode(),
        sharing_group_id=selection.sharing_group_id,
        member_kinds=orjson.dumps(list(selection.member_kinds)).decode(),
        min_score=selection.min_score, max_age_days=selection.max_age_days, created_at=utc_now(),
    ))  # fmt: skip
    return selection_id


def of_row(row: Any) -> Selection:
    return Selection(
        types=tuple(orjson.loads(row.types)),
        max_tlp=TLP(row.max_tlp) if row.max_tlp is not None else None,
        labels=tuple(orjson.loads(row.labels)),
        sharing_group_id=row.sharing_group_id,
        member_kinds=tuple(orjson.loads(row.member_kinds)),
        min_score=row.min_score,
        max_age_days=row.max_age_days,
    )


def get(conn: Connection, selection_id: str) -> Selection:
    row = conn.execute(select(selections).where(selections.c.id == selection_id)).first()
    if row is None:
        raise NotFound("no such selection")
    return of_row(row)
