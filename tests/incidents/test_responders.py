"""Responder profiles: declared by the member's own member-admins, read by every member, and
what the ranking reads of them."""

from __future__ import annotations

from tests.incidents.conftest import Cast, declare


def test_only_the_members_own_admins_declare_its_profile(cast: Cast) -> None:
    url = f"/api/v1/responders/{cast.lab.member_id}"
    profile = {"capabilities": ["legal"], "availability": "unavailable"}
    for intruder in (cast.lab.analyst, cast.lab.reader, cast.malware.admin, cast.cert.admin):
        response = intruder.put(url, json=profile)
        assert response.status_code == 403, response.text
    assert cast.lab.reader.get(url).json()["capabilities"] == ["incident-response", "forensics"]
    assert cast.instance_admin.put(url, json=profile).status_code == 200
    assert cast.outsider.reader.get(url).json()["availability"] == "unavailable"


def test_profiles_are_checked_and_listed(cast: Cast) -> None:
    url = f"/api/v1/responders/{cast.alliance.member_id}"
    admin = cast.alliance.admin
    for bad in ({"capabilities": ["hacking-back"]}, {"capabilities": [], "countries": ["EST"]},
                {"capabilities": [], "availability": "sometimes"},
                {"capabilities": [], "languages": ["english"]},
                {"capabilities": [], "pager": "555"}):  # fmt: skip
        response = admin.put(url, json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["message"]
    assert admin.get(url).status_code == 404  # nothing declared yet
    assert admin.put("/api/v1/responders/nobody", json={"capabilities": []}).status_code == 403
    peer = cast.world.member("Peer instance", "peer")
    peer_admin = cast.world.user(peer, "member-admin")
    refused = peer_admin.put(f"/api/v1/responders/{peer}", json={"capabilities": ["legal"]})
    assert refused.status_code == 422
    declared = admin.put(url, json={"capabilities": ["media", "legal", "media"],
                                    "countries": ["be"], "languages": ["FR"]})  # fmt: skip
    assert declared.status_code == 200, declared.text
    assert (declared.json()["capabilities"], declared.json()["countries"],
            declared.json()["languages"]) == (["media", "legal"], ["BE"], ["fr"])  # fmt: skip
    names = [p["member_name"] for p in cast.outsider.reader.get("/api/v1/responders").json()[
        "responders"]]  # fmt: skip
    assert names == ["Alliance IRC", "Bystander", "Forensics Lab", "Malware Co"]


def test_unavailable_members_and_members_taking_part_are_not_proposed(cast: Cast) -> None:
    declare(cast.lab, capabilities=["incident-response"], availability="unavailable")
    declare(cast.cert, capabilities=["incident-response"], countries=["EE"])  # the coordinator
    incident = cast.file()
    proposals = cast.requester.analyst.get(f"/api/v1/incidents/{incident['id']}/proposals").json()[
        "proposals"
    ]
    assert [(p["rank"], p["member_name"]) for p in proposals] == [(1, "Malware Co"),
                                                                 (2, "Bystander")]  # fmt: skip
    assert proposals[1]["reasons"][-1] == "limited availability"
    # Responders do not see the proposals: they say who else could have been asked.
    tasking = cast.cert.analyst.post(f"/api/v1/incidents/{incident['id']}/taskings", json={})
    assert tasking.json()["member_id"] == cast.malware.member_id
    seen = cast.malware.analyst.get(f"/api/v1/incidents/{incident['id']}/proposals")
    assert seen.status_code == 403
