"""Free text in (exchange/text.py): indicators found, re-fanged, previewed without storing, and
shared as one report whole or not at all.

Negative cases first: file names are not domains, version strings are not addresses, nothing is
found twice, a preview stores nothing, a broken share stores nothing, a reader may not share,
another member never sees an org-only one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shieldwall.exchange.text import extract, refang
from shieldwall.policy import Role
from tests.factories import ApiUser, World
from tests.test_cli import run

WRITE_UP = """Seen hxxps://evil[.]example/gate.php?id=7, then bad(.)example{.}org.
Mail from billing[at]phish.example.com; C2 203.0.113[.]9 and the LAN host 10.0.0.1.
Range 198.51.100.0/24, IPv6 2001:db8::1. Dropper d41d8cd98f00b204e9800998ecf8427e, exploits
cve-2024-3094. sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
Again: 203.0.113.9, evil[dot]example[.]net, CVE-2024-3094.
"""


def found(text: str) -> list[tuple[str, str]]:
    return [(c.kind, c.value) for c in extract(text)]


def shared(user: ApiUser, **params: Any) -> list[dict[str, Any]]:
    response = user.get("/api/v1/objects", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    platform = user.platform_identity_ids()
    return [o for o in response.json()["objects"] if o["id"] not in platform]


def test_file_names_and_version_strings_are_not_indicators() -> None:
    text = (
        "See report.pdf and invoice.docx, run setup.py or install.sh, open payload.zip; "
        "firmware v1.2.3.4, build 1.2.3.4.5, version 2.0.1; at 10:30:00 on 2024-01-02."
    )
    assert found(text) == []


def test_nothing_is_found_twice() -> None:
    kinds_values = found(WRITE_UP)
    assert len(kinds_values) == len(set(kinds_values))
    assert kinds_values.count(("ipv4", "203.0.113.9")) == 1
    assert kinds_values.count(("cve", "CVE-2024-3094")) == 1


def test_every_kind_is_found_re_fanged_with_its_position() -> None:
    assert found(WRITE_UP) == [
        ("url", "https://evil.example/gate.php?id=7"),
        ("domain", "bad.example.org"),
        ("email", "billing@phish.example.com"),
        ("ipv4", "203.0.113.9"),
        ("ipv4", "10.0.0.1"),  # private addresses are kept
        ("ipv4-cidr", "198.51.100.0/24"),
        ("ipv6", "2001:db8::1"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("cve", "CVE-2024-3094"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("domain", "evil.example.net"),
    ]
    positions = {c.value: c.position for c in extract(WRITE_UP)}
    assert WRITE_UP[positions["https://evil.example/gate.php?id=7"] :].startswith("hxxps://")
    assert WRITE_UP[positions["203.0.113.9"] :].startswith("203.0.113[.]9")
    sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert found(f"SHA1 {sha1}, host a.b.cdn.zip, user[@]x.example (dot) com") == [
        ("sha1", sha1), ("domain", "a.b.cdn.zip"), ("email", "user@x.example.com"),
    ]  # fmt: skip


def test_refang_keeps_a_map_to_the_original() -> None:
    original = "a hxxp://x[.]example[:]8080/ b"
    refanged = refang(original)
    assert refanged.text == "a http://x.example:8080/ b"
    assert original[refanged.origin(refanged.text.index("8080")) :].startswith("8080")
    assert original[refanged.origin(refanged.text.index(" b")) :] == " b"


def test_a_preview_stores_nothing(world: World) -> None:
    alice = world.user(world.member())
    response = alice.post("/api/v1/imports/text", json={"text": WRITE_UP})
    assert response.status_code == 200, response.text
    candidates = response.json()["candidates"]
    assert [(c["kind"], c["value"]) for c in candidates] == found(WRITE_UP)
    assert all(c["warning_lists"] == [] and isinstance(c["position"], int) for c in candidates)
    assert shared(alice) == []


def test_a_broken_share_stores_nothing(world: World) -> None:
    alice = world.user(world.member())
    base = {"text": WRITE_UP, "preview": False, "name": "Phish wave", "tlp": "amber"}
    for bad in (
        {"name": ""},
        {"tlp": "purple"},
        {"distribution": "group"},  # without a sharing group
        {"text": "nothing to see in report.pdf"},
        {"values": ["198.51.100.77"]},  # not in the text
    ):
        response = alice.post("/api/v1/imports/text", json={**base, **bad})
        assert response.status_code == 422, (bad, response.text)
    assert [o for o in shared(alice) if o["type"] != "identity"] == []


def test_readers_and_strangers_may_not_share(world: World) -> None:
    member = world.member()
    body = {"text": WRITE_UP, "preview": False, "name": "Phish wave"}
    assert (
        world.user(member, Role.READER).post("/api/v1/imports/text", json=body).status_code == 403
    )
    assert world.client.post("/api/v1/imports/text", json=body).status_code == 401
    assert shared(world.user(member)) == []


def test_an_org_only_report_is_not_seen_by_another_member(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    body = {"text": WRITE_UP, "preview": False, "name": "Ours", "distribution": "org"}
    response = alice.post("/api/v1/imports/text", json=body)
    assert response.status_code == 201, response.text
    assert shared(bob) == []
    assert len(shared(alice, type="indicator")) == 10


def test_a_share_makes_one_report_with_an_indicator_per_value(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    body = {
        "text": WRITE_UP, "preview": False, "name": "Phish wave", "tlp": "green",
        "values": ["evil.example.net", "203.0.113.9", "CVE-2024-3094"],
    }  # fmt: skip
    response = alice.post("/api/v1/imports/text", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["stored"] == 4 and len(answer["objects"]) == 3
    (report,) = shared(bob, type="report")
    assert report["id"] == answer["report"] and report["name"] == "Phish wave"
    assert sorted(report["object_refs"]) == sorted(answer["objects"])
    patterns = sorted(o["pattern"] for o in shared(bob, type="indicator"))
    assert patterns == [
        "[domain-name:value = 'evil.example.net']",
        "[ipv4-addr:value = '203.0.113.9']",
    ]
    (vulnerability,) = shared(bob, type="vulnerability")
    assert vulnerability["external_references"][0]["external_id"] == "CVE-2024-3094"


def test_the_command_imports_free_text(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Test", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "ana@cert.example", "--member", "CERT-Test", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    path = tmp_path / "mail.txt"
    path.write_text(WRITE_UP)
    out = run("import", "--format", "text", str(path), "--user", "ana@cert.example",
              "--tlp", "green", database_url=database_url)  # fmt: skip
    assert "report report--" in out.stdout and "stored 12 objects" in out.stdout
    empty = tmp_path / "empty.txt"
    empty.write_text("see report.pdf")
    refused = run("import", "--format", "text", str(empty), "--user", "ana@cert.example",
                  database_url=database_url, check=False)  # fmt: skip
    assert refused.returncode != 0 and "no indicator" in refused.stderr


def test_attack_technique_ids_are_found_and_shared_as_attack_patterns(world: World) -> None:
    text = (
        "Not T1059.0012, AT1234, t1059, T123 or 1.T1234.5; but T1059.001 (PowerShell) after "
        "T1566, and C2 over T1071.001 at 198.51.100.77. See T1059."
    )
    assert found(text) == [
        ("attack-technique", "T1059.001"),
        ("attack-technique", "T1566"),
        ("attack-technique", "T1071.001"),
        ("ipv4", "198.51.100.77"),
        ("attack-technique", "T1059"),
    ]
    alice, bob = world.user(world.member()), world.user(world.member())
    body = {"text": text, "preview": False, "name": "TTPs", "tlp": "green",
            "values": ["T1071.001", "198.51.100.77"]}  # fmt: skip
    response = alice.post("/api/v1/imports/text", json=body)
    assert response.status_code == 201, response.text
    (technique,) = shared(bob, type="attack-pattern")
    assert technique["name"] == "T1071.001"
    assert technique["external_references"] == [
        {
            "source_name": "mitre-attack",
            "external_id": "T1071.001",
            "url": "https://attack.mitre.org/techniques/T1071/001/",
        }
    ]
    (report,) = shared(bob, type="report")
    assert technique["id"] in report["object_refs"]
    preview = alice.post("/api/v1/imports/text", json={"text": "T1566 and 198.51.100.78"})
    assert preview.json()["candidates"][0] == {
        "kind": "attack-technique", "value": "T1566", "position": 0, "warning_lists": [],
    }  # fmt: skip
