"""Rule exports (exchange/rules.py, exchange/rpz.py): GET /api/v1/exports/{suricata,snort,rpz}
and `shieldwall export --format suricata|snort|rpz`.

Negative cases first: another member's org-only, RED and other-group indicators never reach a
member's rules, nor do revoked, expired or warning-listed values. Then what the rules say, that
their sids are stable, and that the engines' own checkers read them: `named-checkzone` (Debian's
bind9-utils, installed by .ci/run) and `suricata -T` where Suricata is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shieldwall.exchange.rules import SID_BASE, SID_SPAN, Sids, _rev, content, dns_labels
from shieldwall.intel.tables import objects
from shieldwall.policy import Role
from tests.exchange.test_blocklist import listed  # noqa: F401  # the fixture, with warning lists
from tests.factories import ApiUser, World, indicator
from tests.test_cli import run

FORMATS = ("suricata", "snort", "rpz")


def with_pattern(pattern: str, **marking: Any) -> dict[str, Any]:
    return {**indicator(**marking), "pattern": pattern}


def domain(name: str, **marking: Any) -> dict[str, Any]:
    return with_pattern(f"[domain-name:value = '{name}']", **marking)


def exported(user: ApiUser, fmt: str, **params: Any) -> str:
    response = user.get(f"/api/v1/exports/{fmt}", params=params)
    assert response.status_code == 200, response.text
    return response.text


def rules_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def sids(text: str) -> list[int]:
    return [int(s) for s in re.findall(r"\bsid:(\d+);", text)]


def test_rules_never_hold_what_the_member_may_not_see(world: World) -> None:
    a, b, c, d = world.member(), world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c, Role.READER)
    ours, theirs = world.group([a, c]), world.group([a, d])
    hidden = [
        indicator("203.0.113.1", tlp="amber", distribution="org"),
        domain("org-only.example", tlp="amber", distribution="org"),
        domain("red-group.example", tlp="red", distribution="group", group=ours),
        domain("other-group.example", tlp="green", distribution="group", group=theirs),
        indicator("203.0.113.2", tlp="red", distribution="group", group=theirs),
    ]
    shared = [indicator("203.0.113.3", tlp="green"), domain("community.example", tlp="green")]
    assert alice.share(*hidden, *shared).status_code == 201
    for fmt in FORMATS:
        text = exported(bob, fmt)
        for obj in hidden:
            assert obj["id"] not in text, (fmt, obj["pattern"])
        for secret in ("203.0.113.1", "203.0.113.2", "org-only", "red-group", "other-group"):
            assert secret not in text, (fmt, secret)
        assert "community.example" in text
        carols = exported(carol, fmt)
        assert "red-group.example" in carols and "other-group" not in carols
        assert "org-only" not in carols
    assert "203.0.113.3" in exported(bob, "suricata") and "203.0.113.3" in exported(bob, "snort")
    assert "203.0.113.1" in exported(alice, "snort")
    for fmt in FORMATS:
        assert world.client.get(f"/api/v1/exports/{fmt}").status_code == 401


def test_a_value_also_held_where_the_member_may_not_see_names_only_what_it_may(
    world: World,
) -> None:
    # Values are read by indicator from the correlation index's value table: a value an earlier,
    # hidden indicator holds too, or an older version since narrowed away, must not leak.
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    hidden = with_pattern(
        "[domain-name:value = 'both.example'] OR [url:value = 'http://hidden.example/x']",
        tlp="amber",
        distribution="org",
    )
    narrowed = domain("narrowed.example", tlp="green")
    assert alice.share(hidden, narrowed).status_code == 201
    visible = domain("both.example", tlp="green")
    later = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    narrower = {**domain("narrowed.example", tlp="green", distribution="org"),
                "id": narrowed["id"], "modified": later}  # fmt: skip
    assert alice.share(visible, narrower).status_code == 201
    for fmt in FORMATS:
        text = exported(bob, fmt)
        for secret in (hidden["id"], narrowed["id"], "hidden.example", "narrowed.example"):
            assert secret not in text, (fmt, secret)
        assert visible["id"] in text and "both.example" in text, fmt
        assert "narrowed.example" in exported(alice, fmt)
    values = bob.get("/api/v1/exports/blocklist", params={"kind": ["domain", "url"]})
    assert values.text.splitlines() == ["both.example"]


def test_revoked_expired_and_filtered_out_indicators_get_no_rule(world: World) -> None:
    alice = world.user(world.member())
    revoked = {**domain("revoked.example", tlp="green"), "revoked": True}
    expired = {**domain("expired.example", tlp="green"), "valid_until": "2026-02-01T00:00:00Z"}
    amber = domain("amber.example", tlp="amber")
    labelled = {**domain("labelled.example", tlp="green"), "labels": ["c2"]}
    old = domain("old.example", tlp="green")
    assert alice.share(revoked, expired, amber, labelled, old).status_code == 201
    with world.db.write() as conn:  # as if added to this instance long ago
        conn.execute(
            objects.update()
            .where(objects.c.object_id == old["id"])
            .values(date_added="2020-01-01T00:00:00.000000Z")
        )
    for fmt in FORMATS:
        text = exported(alice, fmt)
        assert "revoked.example" not in text and "expired.example" not in text
        assert "amber.example" in text and "old.example" in text
        assert "amber.example" not in exported(alice, fmt, tlp="green")
        labelled_only = exported(alice, fmt, label="c2,other")
        assert "labelled.example" in labelled_only and "amber.example" not in labelled_only
        recent = exported(alice, fmt, max_age_days=30)
        assert "old.example" not in recent and "labelled.example" in recent
    assert "ip any" not in exported(alice, "suricata", kind="domain")
    for fmt, params, word in (
        ("snort", {"kind": "sha256"}, "kind"),
        ("suricata", {"kind": "mutex"}, "kind"),
        ("suricata", {"tlp": "purple"}, "tlp"),
        ("rpz", {"kind": "ipv4"}, "kind"),
        ("rpz", {"action": "explode"}, "action"),
        ("suricata", {"max_age_days": "0"}, "max_age_days"),
    ):
        refused = alice.get(f"/api/v1/exports/{fmt}", params=params)
        assert refused.status_code == 422, (fmt, params, refused.text)
        assert word in refused.json()["error"]["message"]


def test_warning_listed_values_get_no_rule_unless_asked_for(listed: World) -> None:  # noqa: F811
    alice = listed.user(listed.member())
    alice.share(indicator("8.8.8.8", tlp="green"), indicator("192.0.2.40", tlp="green"))
    assert "8.8.8.8" not in exported(alice, "suricata")
    assert "192.0.2.40" in exported(alice, "suricata")
    assert "8.8.8.8" in exported(alice, "suricata", include_benign="true")


def test_each_batch_is_audited_under_its_format(world: World) -> None:
    alice = world.user(world.member())
    shared = [domain(f"audited{i}.example", tlp="green") for i in range(3)]
    alice.share(*shared)
    for fmt in FORMATS:
        exported(alice, fmt)
        entries = world.admin().get("/api/v1/audit", params={"action": f"export.{fmt}"}).json()
        (entry,) = entries["entries"]
        assert entry["user_id"] == alice.user_id
        assert entry["detail"]["objects"] == [o["id"] for o in shared]


def test_what_the_rules_say(world: World) -> None:
    alice = world.user(world.member())
    url = 'http://evil.example:8080/gate.php?a=1;b="2"|x'
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    assert (
        alice.share(
            indicator("198.51.100.7", tlp="amber"),
            with_pattern("[ipv6-addr:value = '2001:db8::/32']", tlp="green"),
            domain("Evil.Example", tlp="green"),
            with_pattern(f"[url:value = '{url}']", tlp="green"),
            with_pattern("[url:value = 'https://secret.example/path']", tlp="green"),
            with_pattern(f"[file:hashes.MD5 = '{md5}']", tlp="green"),
        ).status_code
        == 201
    )
    suricata = rules_of(exported(alice, "suricata"))
    assert suricata[0].startswith(
        'alert ip any any <> [198.51.100.7] any (msg:"Shieldwall TLP:AMBER'
    )
    assert suricata[1].startswith("alert ip any any <> [2001:db8::/32] any")
    dns, tls = suricata[2], suricata[3]
    assert 'dns.query; dotprefix; content:".evil.example"; nocase; endswith;' in dns
    assert 'tls.sni; dotprefix; content:".evil.example"; nocase; endswith;' in tls
    http = suricata[4]
    assert 'http.host; content:"evil.example"; bsize:12;' in http
    # the value's ; " and | are written as bytes, never as the rule's own syntax
    assert 'http.uri.raw; content:"/gate.php?a=1|3B|b=|22|2|22 7C|x"; bsize:21;' in http
    assert (
        'msg:"Shieldwall TLP:GREEN url http://evil.example:8080/gate.php?a=1\\;b=\\"2\\"|x"' in http
    )
    assert "secret.example" not in "\n".join(suricata)  # https: no rule, encrypted
    assert all("filemd5:shieldwall-md5.list;" in r for r in suricata[5:])
    assert [r.split()[1] for r in suricata[5:]] == ["http", "smtp", "ftp-data", "smb", "nfs"]
    snort = rules_of(exported(alice, "snort"))
    assert 'content:"|04|evil|07|example|00|"; fast_pattern:only; nocase;' in snort[2]
    assert 'ssl_state:client_hello; content:"|00 00 0C|evil.example"; nocase;' in snort[3]
    assert 'content:"/gate.php?a=1|3B|b=|22|2|22 7C|x"; http_raw_uri;' in snort[4]
    assert md5 not in "\n".join(snort) and "filemd5" not in "\n".join(snort)
    every = sids("\n".join(suricata + snort))
    assert all(SID_BASE <= s < SID_BASE + SID_SPAN for s in every)
    assert len(set(sids("\n".join(suricata)))) == len(suricata)


def test_sids_are_stable_and_a_new_version_replaces_its_rules(world: World) -> None:
    alice = world.user(world.member())
    first = domain("before.example", tlp="green")
    other = indicator("192.0.2.77", tlp="green")
    assert alice.share(first, other).status_code == 201
    once, twice = exported(alice, "suricata"), exported(alice, "suricata")
    assert sids(once) == sids(twice) and len(sids(once)) == 3
    later = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    newer = {**first, "modified": later, "pattern": "[domain-name:value = 'after.example']"}
    assert alice.share(newer).status_code == 201
    after = exported(alice, "suricata")
    assert "before.example" not in after and "after.example" in after
    assert sorted(sids(after)) == sorted(sids(once))  # the new version's rules replace the old
    revs, old_revs = ([int(r) for r in re.findall(r"rev:(\d+);", text)] for text in (after, once))
    assert revs[1] == revs[2] > old_revs[0] == old_revs[1]  # ip first now: added first


def test_colliding_sids_are_kept_apart() -> None:
    given = Sids()
    first = given("a")
    assert Sids()("a") == first  # the same key, the same sid, in every export
    given.used.add(first - SID_BASE + 1)  # the next one is taken too
    assert given("a") == first + 2  # the key again is another rule: the next free sid
    assert content('a;b"c|d\\e f') == '"a|3B|b|22|c|7C|d|5C|e|20|f"'
    assert dns_labels("www.evil.example") == '"|03|www|04|evil|07|example|00|"'


def test_revs_are_seconds_since_1970_whatever_the_timestamp_looks_like() -> None:
    start = datetime(2023, 12, 31, 22, 0, tzinfo=UTC)
    for seconds in range(0, 3 * 3600, 7):  # past midnight, a new year and hours on the way
        moment = start + timedelta(seconds=seconds)
        assert _rev(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == int(moment.timestamp())
    assert _rev("2024-03-04T12:34:60.000Z") == _rev("2024-03-04T12:35:00.000Z")  # leap second
    assert _rev("2024-03-04 12:34:56") == _rev("2024-03-04T12:34:56Z")
    assert _rev("2024-13-04T12:34:56Z") == _rev("2024-03-04T1x:34:56Z") == _rev("") == 1


def test_named_checkzone_accepts_the_rpz_zone(world: World, tmp_path: Path) -> None:
    checker = shutil.which("named-checkzone")
    if checker is None:
        if os.environ.get("CI"):
            pytest.fail("named-checkzone is missing: .ci/run installs bind9-utils")
        pytest.skip("named-checkzone (Debian bind9-utils) is not installed")
    alice = world.user(world.member())
    long_name = ".".join(["a" * 60] * 4) + ".example"  # no room left for *. and the origin
    assert (
        alice.share(
            domain("evil.example", tlp="green"),
            domain("xn--80ak6aa92e.com", tlp="green"),
            domain("_dmarc.bad-actor.example", tlp="green"),
            domain(long_name, tlp="green"),
        ).status_code
        == 201
    )
    for action, target in (("nxdomain", "."), ("nodata", "*."), ("drop", "rpz-drop.")):
        zone = exported(alice, "rpz", action=action)
        assert f"\nevil.example CNAME {target} ;" in zone
        assert f"\n*.evil.example CNAME {target}\n" in zone
        assert long_name not in zone
        path = tmp_path / f"{action}.zone"
        path.write_text(zone)
        checked = subprocess.run(
            [checker, "-k", "fail", "rpz.shieldwall", str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "OK" in checked.stdout
    only = exported(alice, "rpz", subdomains="no")
    assert "*.evil.example" not in only and "\nevil.example CNAME . ;" in only


def test_suricata_reads_the_rules(world: World, tmp_path: Path) -> None:
    suricata = shutil.which("suricata")
    if suricata is None:
        pytest.skip("suricata is not installed (Debian bookworm has no suricata package)")
    alice = world.user(world.member())
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    assert (
        alice.share(
            indicator("198.51.100.7", tlp="green"),
            with_pattern("[ipv6-addr:value = '2001:db8::1']", tlp="green"),
            domain("evil.example", tlp="green"),
            with_pattern("[url:value = 'http://evil.example/a;b\"c|d']", tlp="green"),
            with_pattern(f"[file:hashes.MD5 = '{md5}']", tlp="green"),
        ).status_code
        == 201
    )
    (tmp_path / "shieldwall.rules").write_text(exported(alice, "suricata"))
    (tmp_path / "shieldwall-md5.list").write_text(exported(alice, "blocklist", kind="md5"))
    checked = subprocess.run(
        [suricata, "-T", "-S", str(tmp_path / "shieldwall.rules"), "-l", str(tmp_path),
         "--set", f"default-rule-path={tmp_path}"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]


def test_the_command_exports_rules(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Test", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "ana@cert.example", "--member", "CERT-Test", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    path = tmp_path / "rows.csv"
    path.write_text("type,value,tlp\ndomain,evil.example,green\nipv4,198.51.100.9,green\n")
    run("import", str(path), "--user", "ana@cert.example", database_url=database_url)
    suricata = run("export", "--format", "suricata", "--user", "ana@cert.example",
                   database_url=database_url).stdout  # fmt: skip
    assert len(rules_of(suricata)) == 3 and "sid:" in suricata
    zone = run("export", "--format", "rpz", "-o", "subdomains=no", "--user", "ana@cert.example",
               database_url=database_url).stdout  # fmt: skip
    assert "\nevil.example CNAME . ;" in zone and "198.51.100.9" not in zone
    snort = run("export", "--format", "snort", "-o", "kind=ipv4", "--user", "ana@cert.example",
                database_url=database_url).stdout  # fmt: skip
    assert rules_of(snort)[0].startswith("alert ip any any <> [198.51.100.9] any")
