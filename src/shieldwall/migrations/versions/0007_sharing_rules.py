"""sharing rules hold for every stored row: forbidden pairs, granular markings, anonymity across
versions and versions widened by defaults are narrowed; change_objects is created (the versions a
removal or an erasure touched, under its change-log entry)

Ingest now refuses or narrows what it used to store (issue: trust breaks in the core). Rows stored
before that may break the rules; each is narrowed, never widened, its served body rewritten to
match (marking, sharing extension, creator), and the migration prints how many of each it found:
- a TLP/distribution pair the rules forbid (TLP:RED beyond `org`/`group`, AMBER with `all`, `group`
  without a group): the distribution narrows to the broadest the TLP allows;
- a TLP stricter than the row's anywhere on the object (granular markings, a STIX 2.0-style TLP
  marking definition already shared): the row takes it, the distribution narrowed with it;
- an object some of whose versions were anonymous: every version becomes the broker's;
- a version wider than the one before it whose marking and distribution are exactly its member's
  defaults, which is what a version that named neither was given: it takes the earlier version's
  (a widening made explicitly to exactly the defaults cannot be told apart, and is narrowed too;
  its sharer can send it again);
- an indicator or observable whose domain, e-mail or URL value holds a control or white-space
  character (a blocklist entry that could become two): narrowed to its own member (`org`).
Identities forged in other members' or the broker's names are removed by the platform-identity
check every server start and `shieldwall init` run, which knows the broker's name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

import json
import sys
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The rules as they stood when this was written (shieldwall.markings).
_SHARING = "extension-definition--c56d41b5-3fe7-441e-af12-498adb577219"
_TLP2 = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_TLP_IDS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": 0,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": 1,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": 2,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": 3,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": 4,
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": 0,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": 1,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": 2,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": 4,
}
_TLP2_ID_OF = {level: marking for marking, level in list(_TLP_IDS.items())[:5]}
_LEVEL_OF_NAME = {"clear": 0, "white": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}
_REACH = {"org": 0, "group": 1, "community": 2, "federation": 3, "all": 4}
_ALLOWED = {
    4: {"org", "group"},
    3: {"org", "group", "community", "federation"},
    2: {"org", "group", "community", "federation"},
    1: set(_REACH),
    0: set(_REACH),
}
# Control and white-space characters: none belongs in a domain, an e-mail address or a URL.
_BAD_CHARACTERS = [chr(c) for c in range(1, 0x21)] + ["\x7f", "\x85", "\xa0", "\u2028", "\u2029"]


def _cap(tlp: int, distribution: str) -> str:
    if distribution in _ALLOWED[tlp]:
        return distribution
    return "federation" if "federation" in _ALLOWED[tlp] else "org"


def _level_of_definition(body: dict[str, Any]) -> int | None:
    extension = (body.get("extensions") or {}).get(_TLP2)
    if isinstance(extension, dict) and isinstance(extension.get("tlp_2_0"), str):
        return _LEVEL_OF_NAME.get(extension["tlp_2_0"].lower(), 4)
    kind = body.get("definition_type")
    if not isinstance(kind, str) or kind.lower() != "tlp":
        return None
    definition = body.get("definition")
    levels = [v for k, v in (definition or {}).items() if k.lower() == "tlp"]
    name = levels[0].lower().removeprefix("tlp:") if levels and isinstance(levels[0], str) else ""
    return _LEVEL_OF_NAME.get(name, 4)  # unreadable: its strictest


class _Rows:
    """The objects table, read and rewritten a row at a time (only rows that break a rule)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.t = sa.table(
            "objects", *(sa.column(name) for name in (
                "pk", "object_id", "type", "member_id", "modified", "tlp", "distribution",
                "sharing_group_id", "anonymous", "created_by", "body",
            ))
        )  # fmt: skip
        self.changed: set[int] = set()

    def get(self, pk: int) -> Any:
        return self.conn.execute(sa.select(self.t).where(self.t.c.pk == pk)).one()

    def narrow(
        self, pk: int, *, tlp: int | None = None, distribution: str | None = None,
        group: str | None = None, anonymous: bool | None = None, creator: str | None = None,
    ) -> None:  # fmt: skip
        row = self.get(pk)
        tlp = row.tlp if tlp is None else tlp
        distribution = row.distribution if distribution is None else distribution
        group = row.sharing_group_id if distribution == "group" and group is None else group
        if distribution != "group":
            group = None
        anonymous = row.anonymous if anonymous is None else anonymous
        body = json.loads(row.body)
        if body.get("type") != "marking-definition":
            refs = [r for r in body.get("object_marking_refs") or () if r not in _TLP_IDS]
            body["object_marking_refs"] = [*refs, _TLP2_ID_OF[tlp]]
            extension: dict[str, Any] = {
                "extension_type": "property-extension",
                "distribution": distribution,
            }
            if group:
                extension["sharing_group"] = group
            extension["anonymous"] = anonymous
            body.setdefault("extensions", {})[_SHARING] = extension
        created_by = row.created_by
        if anonymous and creator and "created" in body:
            body["created_by_ref"] = created_by = creator
        self.conn.execute(
            sa.update(self.t)
            .where(self.t.c.pk == pk)
            .values(
                tlp=tlp, distribution=distribution, sharing_group_id=group, anonymous=anonymous,
                created_by=created_by, body=json.dumps(body, ensure_ascii=False,
                                                       separators=(",", ":")),
            )
        )  # fmt: skip
        self.changed.add(pk)


def _forbidden_pairs(rows: _Rows) -> int:
    t = rows.t.c
    found = rows.conn.execute(
        sa.select(t.pk, t.tlp, t.distribution).where(
            sa.or_(
                sa.and_(t.tlp == 4, t.distribution.notin_(["org", "group"])),
                sa.and_(t.tlp.in_([2, 3]), t.distribution == "all"),
                sa.and_(t.distribution == "group", t.sharing_group_id.is_(None)),
            )
        )
    ).all()
    for pk, tlp, distribution in found:
        narrowed = "org" if distribution == "group" else _cap(tlp, distribution)
        rows.narrow(pk, distribution=narrowed)
    sightings = sa.table("sightings", sa.column("tlp"), sa.column("distribution"),
                         sa.column("sharing_group_id"))  # fmt: skip
    s = sightings.c
    for condition, narrowed in (
        (sa.and_(s.tlp == 4, s.distribution.notin_(["org", "group"])), "org"),
        (sa.and_(s.tlp.in_([2, 3]), s.distribution == "all"), "federation"),
        (sa.and_(s.distribution == "group", s.sharing_group_id.is_(None)), "org"),
    ):
        rows.conn.execute(sa.update(sightings).where(condition).values(distribution=narrowed))
    return len(found)


def _hidden_markings(rows: _Rows) -> int:
    t = rows.t.c
    definitions: dict[str, int] = {}
    for object_id, body in rows.conn.execute(
        sa.select(t.object_id, t.body).where(t.type == "marking-definition")
    ):
        level = _level_of_definition(json.loads(body))
        if level is not None and object_id not in _TLP_IDS:
            definitions[object_id] = max(level, definitions.get(object_id, 0))
    levels = {**_TLP_IDS, **definitions}
    conditions = [t.body.like("%granular_markings%")]
    conditions += [t.body.like(f"%{marking_id}%") for marking_id in definitions]
    count = 0
    for pk, tlp, body in rows.conn.execute(
        sa.select(t.pk, t.tlp, t.body).where(sa.or_(*conditions))
    ).all():
        obj = json.loads(body)
        refs = list(obj.get("object_marking_refs") or ())
        refs += [g.get("marking_ref") for g in obj.get("granular_markings") or ()
                 if isinstance(g, dict)]  # fmt: skip
        strictest = max([levels[r] for r in refs if r in levels], default=tlp)
        if strictest > tlp:
            row = rows.get(pk)
            rows.narrow(pk, tlp=strictest, distribution=_cap(strictest, row.distribution))
            count += 1
    return count


def _anonymity(rows: _Rows) -> int:
    t = rows.t.c
    anonymous = sa.func.sum(sa.case((t.anonymous, 1), else_=0))
    mixed = rows.conn.execute(
        sa.select(t.object_id, t.member_id)
        .group_by(t.object_id, t.member_id)
        .having(sa.and_(anonymous > 0, anonymous < sa.func.count()))
    ).all()
    count = 0
    for object_id, member_id in mixed:
        versions = rows.conn.execute(
            sa.select(t.pk, t.anonymous, t.created_by).where(
                t.object_id == object_id, t.member_id == member_id
            )
        ).all()
        broker = next((v.created_by for v in versions if v.anonymous and v.created_by), None)
        for version in versions:
            if not version.anonymous:
                rows.narrow(version.pk, anonymous=True, creator=broker)
                count += 1
    return count


def _widened_by_defaults(rows: _Rows) -> int:
    t = rows.t.c
    members = sa.table("members", sa.column("id"), sa.column("default_tlp"),
                       sa.column("default_distribution"))  # fmt: skip
    defaults = {
        member_id: (tlp, _cap(tlp, distribution))
        for member_id, tlp, distribution in rows.conn.execute(sa.select(members))
    }
    chains = rows.conn.execute(
        sa.select(t.object_id, t.member_id)
        .group_by(t.object_id, t.member_id)
        .having(sa.func.count() > 1)
    ).all()
    count = 0
    for object_id, member_id in chains:
        versions = rows.conn.execute(
            sa.select(t.pk, t.tlp, t.distribution, t.sharing_group_id)
            .where(t.object_id == object_id, t.member_id == member_id)
            .order_by(t.modified, t.pk)
        ).all()
        before = versions[0]
        previous = (before.tlp, before.distribution, before.sharing_group_id)
        for version in versions[1:]:
            tlp, distribution, group = version.tlp, version.distribution, version.sharing_group_id
            wider = tlp < previous[0] or _REACH[distribution] > _REACH[previous[1]]
            if wider and (tlp, distribution) == defaults.get(member_id):
                tlp = max(tlp, previous[0])
                if _REACH[previous[1]] < _REACH[distribution]:
                    distribution, group = previous[1], previous[2]
                distribution = _cap(tlp, distribution)
                rows.narrow(version.pk, tlp=tlp, distribution=distribution, group=group)
                count += 1
            previous = (tlp, distribution, group if distribution == "group" else None)
    return count


def _injectable_values(rows: _Rows) -> int:
    values = sa.table("observable_values", sa.column("object_pk"), sa.column("kind"),
                      sa.column("value"))  # fmt: skip
    v = values.c
    bad = [c for c in _BAD_CHARACTERS if c != "\x00" or rows.conn.dialect.name == "sqlite"]
    pks = rows.conn.execute(
        sa.select(v.object_pk)
        .distinct()
        .where(
            v.kind.in_(["domain", "email", "url"]),
            sa.or_(*(sa.func.instr(v.value, c) > 0 for c in bad))
            if rows.conn.dialect.name == "sqlite"
            else sa.or_(*(sa.func.strpos(v.value, c) > 0 for c in bad)),
        )
    ).scalars()
    count = 0
    for pk in list(pks):
        if rows.get(pk).distribution != "org":
            rows.narrow(pk, distribution="org")
            count += 1
    return count


def upgrade() -> None:
    op.create_table(
        "change_objects",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=False),
        sa.Column("modified", sa.String(length=32), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("distribution", sa.String(length=20), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=36), nullable=True),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_change_objects_seq", "change_objects", ["seq"])
    rows = _Rows(op.get_bind())
    counts = {
        "a TLP/distribution pair the rules forbid": _forbidden_pairs(rows),
        "a TLP stricter than the row's in granular markings or TLP definitions": _hidden_markings(
            rows
        ),
        "a named version of an object shared anonymously": _anonymity(rows),
        "a version widened by its member's defaults": _widened_by_defaults(rows),
        "a domain, e-mail or URL value with control or white-space characters": (
            _injectable_values(rows)
        ),
    }
    for what, count in counts.items():
        if count:
            print(f"migration 0007: narrowed {count} object version(s) with {what}",
                  file=sys.stderr)  # fmt: skip


def downgrade() -> None:
    # Narrowed rows stay narrowed: widening them again is exactly what this migration prevents.
    op.drop_index("ix_change_objects_seq", table_name="change_objects")
    op.drop_table("change_objects")
