"""The text export (exchange/text_export.py, `GET /api/v1/exports/text`, `shieldwall export
--format text`): the values a viewer may see, a line each, defanged, which the free-text import
re-fangs back to the same values.

Negative cases first: another member's org-only intel is not in it, not even in its head, and a
bad option is refused before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shieldwall.exchange.text_export import defanged
from tests.factories import ApiUser, World, bundle, indicator
from tests.test_cli import run

# One value of each kind the free-text import finds, as ingest stores it.
VALUES = {
    "ipv4": "198.51.100.7",
    "ipv4-cidr": "203.0.113.0/24",
    "ipv6": "2001:db8::7",
    "domain": "evil.example.com",
    "url": "https://login.evil.example.net/gate.php?id=1",
    "email": "ops@mail.evil.example.org",
    "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}
PATTERNS = {
    "ipv4": "[ipv4-addr:value = '{}']",
    "ipv4-cidr": "[ipv4-addr:value = '{}']",
    "ipv6": "[ipv6-addr:value = '{}']",
    "domain": "[domain-name:value = '{}']",
    "url": "[url:value = '{}']",
    "email": "[email-addr:value = '{}']",
    "md5": "[file:hashes.MD5 = '{}']",
    "sha1": "[file:hashes.'SHA-1' = '{}']",
    "sha256": "[file:hashes.'SHA-256' = '{}']",
}


def with_pattern(kind: str, value: str, **marking: Any) -> dict[str, Any]:
    return {**indicator(**marking), "pattern": PATTERNS[kind].format(value)}


def exported(user: ApiUser, **params: Any) -> list[str]:
    response = user.get("/api/v1/exports/text", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text.splitlines()


def test_it_never_holds_what_the_viewer_may_not_see(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    shared = alice.share(
        with_pattern("domain", "secret.example.com", tlp="amber", distribution="org"),
        with_pattern("domain", "public.example.com", tlp="green", distribution="community"),
    )
    assert shared.status_code == 201, shared.text
    lines = exported(bob)
    assert not any("secret" in line for line in lines)
    assert lines[1:] == ["public[.]example[.]com"]
    assert "secret[.]example[.]com" in exported(alice)
    assert world.client.get("/api/v1/exports/text").status_code == 401


def test_bad_options_are_refused_before_anything_is_written(world: World) -> None:
    alice = world.user(world.member())
    for params in ({"kind": "mutex"}, {"nosuch": "1"}, {"min_score": "high"}):
        response = alice.get("/api/v1/exports/text", params=params)
        assert response.status_code == 422, (params, response.text)
        assert "error" in response.json()


def test_what_it_writes_the_free_text_import_finds_again(world: World) -> None:
    alice = world.user(world.member())
    shared = alice.share(*(with_pattern(k, v, tlp="green") for k, v in VALUES.items()))
    assert shared.status_code == 201, shared.text
    lines = exported(alice)
    assert lines[0].startswith("# Shieldwall indicators") and "defanged" in lines[0]
    body = lines[1:]
    # Defanged: no host a mail client would make a link of, nothing followable.
    assert "evil[.]example[.]com" in body and "198[.]51[.]100[.]7" in body
    assert "hxxps://login[.]evil[.]example[.]net/gate.php?id=1" in body
    assert "ops[@]mail[.]evil[.]example[.]org" in body
    assert not any("http" in line or "evil.example" in line for line in body)
    preview = alice.post("/api/v1/imports/text", json={"text": "\n".join(lines)})
    assert preview.status_code == 200, preview.text
    found = {(c["kind"], c["value"]) for c in preview.json()["candidates"]}
    assert found == set(VALUES.items())
    # as they are, on request, and narrowed by kind
    assert exported(alice, defang="no", kind="domain,url")[1:] == [VALUES["domain"], VALUES["url"]]


def test_each_page_is_audited_as_a_text_export(world: World) -> None:
    alice = world.user(world.member())
    shared = [indicator(f"192.0.2.{i}", tlp="green") for i in range(40, 43)]
    assert alice.share(*shared).status_code == 201
    assert len(exported(alice, kind="ipv4")) == 4
    entries = world.admin().get("/api/v1/audit", params={"action": "export.text"}).json()
    (entry,) = entries["entries"]
    assert entry["user_id"] == alice.user_id
    assert entry["detail"]["objects"] == [o["id"] for o in shared]


def test_the_command_writes_it(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Text", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "ana@cert.example", "--member", "CERT-Text", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(indicator("198.51.100.9", tlp="green"))))
    run("import", str(path), "--user", "ana@cert.example", database_url=database_url)
    out = run("export", "--format", "text", "--user", "ana@cert.example",
              database_url=database_url)  # fmt: skip
    assert out.stdout.splitlines()[1:] == ["198[.]51[.]100[.]9"]


def test_defanging_each_kind() -> None:
    assert defanged("ipv4", "192.0.2.1") == "192[.]0[.]2[.]1"
    assert defanged("ipv4-cidr", "192.0.2.0/24") == "192[.]0[.]2[.]0/24"
    assert defanged("ipv6", "2001:db8::1") == "2001:db8::1"
    assert defanged("url", "http://a.example/x.php") == "hxxp://a[.]example/x.php"
    assert defanged("url", "ftp://a.example") == "fxp://a[.]example"
    assert defanged("url", "http://[2001:db8::1]:8080/a.b") == "hxxp://[2001:db8::1]:8080/a.b"
    assert defanged("email", "a.b@c.example") == "a.b[@]c[.]example"
    assert defanged("sha256", "ab" * 32) == "ab" * 32
