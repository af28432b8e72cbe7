"""The ids a member's MISP import gives (exchange/misp_document.py): RFC 4122 version-5 UUIDs of
the member and the MISP uuid, however they are computed."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shieldwall.exchange.misp_document import _NAMESPACE, MemberIds, _uuid5, report_id_for


@given(st.text(), st.text())
def test_a_members_ids_are_the_uuid5_of_member_and_name(member_id: str, rest: str) -> None:
    expected = str(uuid.uuid5(_NAMESPACE, f"{member_id}/{rest}"))
    assert MemberIds(member_id).uuid5(rest) == expected == _uuid5(f"{member_id}/{rest}")
    parsed = uuid.UUID(expected)
    assert parsed.version == 5 and parsed.variant == uuid.RFC_4122


def test_the_report_id_is_the_members_id_of_the_event() -> None:
    member, event = "8d0f3c1e-0c4b-4f7e-9a43-3b1f6f0e2d11", "5a0d6d2a-464c-4b9c-8406-421c950d210f"
    assert report_id_for(member, event) == f"report--{MemberIds(member).uuid5(event)}"
