"""The warning-list index: what the MISP lists flag, through which entry, and for which kinds."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random
from pathlib import Path

import pytest

from shieldwall.correlate.observables import Observable, normalise
from shieldwall.sightings.benign import BenignCheck, warning_lists
from shieldwall.sightings.warninglists import WarningLists, WarningMatch, default_lists_dir

# Enough real lists to cover every list type but regex-with-flags; loads in about half a second.
SUBSET = (
    "amazon-aws",
    "common-contact-emails",
    "disposable-email",
    "dynamic-dns",
    "empty-hashes",
    "google",
    "public-dns-v4",
    "public-dns-v6",
    "rfc1918",
    "rfc3849",
    "rfc5735",
    "tlds",
    "tranco10k",
)
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(scope="module")
def lists() -> WarningLists:
    return WarningLists.load(only=SUBSET)


def ids(matches: tuple[WarningMatch, ...]) -> set[str]:
    return {m.list_id for m in matches}


def by_id(matches: tuple[WarningMatch, ...]) -> dict[str, str]:
    return {m.list_id: m.matched for m in matches}


# Real lists, loaded with only=.


def test_a_private_address_is_on_the_rfc1918_list(lists: WarningLists) -> None:
    assert WarningMatch(
        list_name="List of RFC 1918 CIDR blocks",
        list_id="rfc1918",
        category="false-positive",
        matched="10.0.0.0/8",
    ) in lists.match("ipv4", "10.1.2.3")
    assert by_id(lists.match("ipv4", "192.168.77.1"))["rfc1918"] == "192.168.0.0/16"
    assert "rfc1918" not in ids(lists.match("ipv4", "172.32.0.1"))  # just past 172.16.0.0/12


def test_public_resolvers_are_on_the_public_dns_lists(lists: WarningLists) -> None:
    assert by_id(lists.match("ipv4", "8.8.8.8"))["public-dns-v4"] == "8.8.8.8"
    assert by_id(lists.match("ipv6", "2001:4860:4860::8888"))["public-dns-v6"] == (
        "2001:4860:4860::8888"
    )
    assert "public-dns-v4" not in ids(lists.match("ipv4", "8.8.8.7"))


def test_an_address_on_several_lists_gets_one_match_from_each(lists: WarningLists) -> None:
    assert by_id(lists.match("ipv4", "10.1.2.3")) == {
        "rfc1918": "10.0.0.0/8",
        "rfc5735": "10.0.0.0/8",
    }


def test_a_top_domain_and_its_subdomains_are_on_the_top_sites_list(lists: WarningLists) -> None:
    # tranco10k is a hostname list: an entry covers its subdomains, reported through the entry.
    assert by_id(lists.match("domain", "google.com"))["tranco10k"] == "google.com"
    assert by_id(lists.match("domain", "mail.google.com"))["tranco10k"] == "google.com"
    assert "tranco10k" not in ids(lists.match("domain", "google.com.evil-example.net"))
    assert "tranco10k" not in ids(lists.match("domain", "notgoogle.com"))


def test_a_url_is_matched_by_its_host(lists: WarningLists) -> None:
    assert by_id(lists.match("url", "https://docs.google.com/forms/d/1x/viewform"))[
        "tranco10k"
    ] == ("google.com")
    assert by_id(lists.match("url", "http://10.0.0.5:8080/admin"))["rfc1918"] == "10.0.0.0/8"
    assert "rfc3849" in ids(lists.match("url", "http://[2001:db8::1]/x"))
    # dynamic-dns names no URL attribute, but a URL on such a host is on such a host.
    assert "dynamic-dns" in ids(lists.match("url", "https://c2.duckdns.org/gate.php"))
    assert not lists.match("url", "https://login.example-phish.xyz/google.com")
    # Hosts behind a user, a port, upper case or nothing at all are found all the same.
    for url in (
        "https://c2.duckdns.org",
        "https://c2.duckdns.org?q=1",
        "https://user@c2.duckdns.org:8443/gate.php",
        "HTTPS://C2.DUCKDNS.ORG/gate.php",
    ):
        assert "dynamic-dns" in ids(lists.match("url", url)), url


def test_the_presence_bitmap_never_hides_a_listed_name(lists: WarningLists) -> None:
    """The bitmap only spares bisecting: with every bit set (always bisect), the answers are the
    same, for listed names, their subdomains and names on no list."""
    bisecting = dataclasses.replace(lists, _name_presence=b"\xff" * len(lists._name_presence))
    rng = random.Random(7)
    values = [("domain", "google.com"), ("domain", "x.y.duckdns.org"), ("md5", EMPTY_MD5)]
    values += [("sha256", EMPTY_SHA256), ("email", "x@mailinator.com")]
    values += [("domain", f"h{rng.getrandbits(40):010x}.example") for _ in range(300)]
    tranco = json.loads((default_lists_dir() / "tranco10k" / "list.json").read_bytes())["list"]
    values += [("domain", f"{rng.choice(['', 'www.', 'a.b.'])}{name}") for name in tranco[:500]]
    values += [("url", f"https://{name}/x") for name in tranco[500:700]]
    flagged = 0
    for kind, value in values:
        expected = bisecting.match(kind, value)
        assert lists.match(kind, value) == expected, (kind, value)
        flagged += bool(expected)
    assert flagged >= 700  # the listed names were really asked about


def test_a_cidr_value_matches_only_when_it_lies_inside_a_listed_range(
    lists: WarningLists,
) -> None:
    assert by_id(lists.match("ipv4-cidr", "10.20.0.0/16"))["rfc1918"] == "10.0.0.0/8"
    assert by_id(lists.match("ipv4-cidr", "10.0.0.0/8"))["rfc1918"] == "10.0.0.0/8"
    assert "rfc1918" not in ids(lists.match("ipv4-cidr", "10.0.0.0/7"))  # wider than the entry
    assert "rfc1918" not in ids(lists.match("ipv4-cidr", "172.15.0.0/15"))  # straddles its start
    assert ids(lists.match("ipv6-cidr", "2001:db8:1::/48")) == {"rfc3849"}


def test_documentation_addresses_are_only_on_the_reserved_lists(lists: WarningLists) -> None:
    # RFC 5737 documentation ranges are among RFC 5735's special-use blocks; RFC 3849 is IPv6.
    assert by_id(lists.match("ipv4", "192.0.2.44")) == {"rfc5735": "192.0.2.0/24"}
    assert by_id(lists.match("ipv4", "198.51.100.200")) == {"rfc5735": "198.51.100.0/24"}
    assert by_id(lists.match("ipv4", "203.0.113.9")) == {"rfc5735": "203.0.113.0/24"}
    assert by_id(lists.match("ipv6", "2001:db8:85a3::8a2e:370:7334")) == {
        "rfc3849": "2001:DB8::/32"
    }


def test_hashes_are_matched_by_hash_lists_and_never_by_domain_lists(
    lists: WarningLists,
) -> None:
    assert ids(lists.match("md5", EMPTY_MD5)) == {"empty-hashes"}
    assert ids(lists.match("sha256", EMPTY_SHA256)) == {"empty-hashes"}
    assert not lists.match("domain", EMPTY_MD5)  # empty-hashes is not for domains
    assert not lists.match("md5", "google.com")  # nor tranco10k for hashes
    assert not lists.match("sha256", "10.1.2.3")


def test_string_lists_are_matched_without_regard_to_case(lists: WarningLists) -> None:
    # tlds ships upper case ("COM"); our values are lower case.
    assert by_id(lists.match("domain", "com"))["tlds"] == "com"
    # google is a string list whose entries start with a dot: they cover subdomains.
    assert by_id(lists.match("domain", "mail.google.ad"))["google"] == "google.ad"


def test_an_email_address_is_matched_by_its_domain_in_email_lists_only(
    lists: WarningLists,
) -> None:
    assert by_id(lists.match("email", "x@mailinator.com")) == {"disposable-email": "mailinator.com"}
    assert by_id(lists.match("email", "abuse@example.org")) == {
        "common-contact-emails": r"/^(security|noc|soc|abuse)\@.*\..*$/i"
    }
    # "tmail.com" is a disposable domain; hotmail.com is not, though it contains that string.
    assert not lists.match("email", "someone@hotmail.com")
    # A mailbox at a top domain is not benign because the domain is.
    assert not lists.match("email", "ceo.impersonator@google.com")


def test_known_lists_say_so(lists: WarningLists) -> None:
    (match,) = (m for m in lists.match("ipv4", "52.95.110.1") if m.list_id == "amazon-aws")
    assert match.category == "known"
    assert lists.match("domain", "a.duckdns.org")[0].category == "known"


def test_only_loads_the_named_lists(lists: WarningLists) -> None:
    assert len(lists) == len(SUBSET)
    assert tuple(info.list_id for info in lists.lists) == SUBSET
    two = WarningLists.load(only=["rfc1918", "tlds"])
    assert len(two) == 2
    assert ids(two.match("ipv4", "10.1.2.3")) == {"rfc1918"}
    assert not two.match("ipv4", "8.8.8.8")
    with pytest.raises(ValueError, match="rfc-0000"):
        WarningLists.load(only=["rfc1918", "rfc-0000"])


def test_the_loaded_index_cannot_be_changed(lists: WarningLists) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        lists.lists = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        lists._name_rows[0] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        lists._v4.bounds[0] = 0  # type: ignore[index]


def test_a_saved_index_loads_back_and_answers_the_same(lists: WarningLists, tmp_path: Path) -> None:
    lists.save(tmp_path / "warninglists.idx")
    again = WarningLists.load_compiled(tmp_path / "warninglists.idx")
    assert again.lists == lists.lists
    values = [
        ("ipv4", "10.1.2.3"),
        ("ipv4", "8.8.8.8"),
        ("ipv6", "2001:db8::1"),
        ("ipv6-cidr", "2001:db8:1::/48"),
        ("domain", "mail.google.com"),
        ("domain", "mail.google.ad"),
        ("url", "https://c2.duckdns.org/gate.php"),
        ("email", "abuse@example.org"),
        ("email", "x@mailinator.com"),
        ("md5", EMPTY_MD5),
    ]
    for kind, value in values:
        assert again.match(kind, value) == lists.match(kind, value), (kind, value)
    assert bytes(again._name_presence) == bytes(lists._name_presence)
    (tmp_path / "other").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="not a compiled"):
        WarningLists.load_compiled(tmp_path / "other")
    # A file cut short is refused, and so is one of the first format (without the bitmap).
    whole = (tmp_path / "warninglists.idx").read_bytes()
    (tmp_path / "short").write_bytes(whole[:-1000])
    with pytest.raises(ValueError, match="damaged"):
        WarningLists.load_compiled(tmp_path / "short")
    (tmp_path / "old").write_bytes(b"shieldwall-warninglists/1\n" + bytes(16))
    with pytest.raises(ValueError, match="not a compiled"):
        WarningLists.load_compiled(tmp_path / "old")


def test_the_cache_folder_keeps_the_built_index_for_later_processes(tmp_path: Path) -> None:
    spec = "rfc1918,public-dns-v4"
    built = warning_lists(spec, str(tmp_path))
    [cached] = tmp_path.glob("warninglists-*.idx")
    assert not list(tmp_path.glob("*.partial"))
    # A later process reads the file instead of the list files.
    warning_lists.cache_clear()
    again = warning_lists(spec, str(tmp_path))
    assert again is not built and again.lists == built.lists
    assert [m.list_id for m in again.match("ipv4", "8.8.8.8")] == ["public-dns-v4"]
    # Another selection is another file; a damaged file is rebuilt, not trusted.
    warning_lists("rfc1918", str(tmp_path))
    assert len(list(tmp_path.glob("warninglists-*.idx"))) == 2
    cached.write_bytes(b"damaged")
    warning_lists.cache_clear()
    rebuilt = warning_lists(spec, str(tmp_path))
    assert rebuilt.lists == built.lists
    assert WarningLists.load_compiled(cached).lists == built.lists
    warning_lists.cache_clear()


def test_a_cache_folder_that_cannot_be_written_only_costs_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    lists = warning_lists("rfc1918", str(blocker / "cache"))
    assert [m.list_id for m in lists.match("ipv4", "10.1.2.3")] == ["rfc1918"]
    warning_lists.cache_clear()


# Hand-made lists, for the rules the real ones do not pin down.


def write_list(root: Path, list_id: str, kind: str, entries: list[str], **extra: object) -> None:
    (root / list_id).mkdir(parents=True)
    body = {"name": f"{list_id} list", "description": "-", "version": 1, "type": kind}
    (root / list_id / "list.json").write_text(json.dumps({**body, "list": entries, **extra}))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> WarningLists:
    root = tmp_path_factory.mktemp("lists")
    ips = {"matching_attributes": ["ip-src", "ip-dst"]}
    write_list(root, "outer", "cidr", ["10.0.0.0/8", "10.1.0.0/16", "not-a-cidr"], **ips)
    write_list(root, "inner", "cidr", ["10.1.2.0/24", "2001:DB8::/32", "10.1.2.7"], **ips)
    write_list(root, "hashes", "hostname", [EMPTY_MD5], matching_attributes=["domain"])
    write_list(root, "anything", "string", ["Mutex-ABC"])  # no matching_attributes: every kind
    write_list(root, "said-known", "string", ["known.example"], category="known")
    write_list(
        root,
        "agents",
        "regex",
        ["/^curl\\/[0-9.]+$/gi", "#unclosed"],
        matching_attributes=["user-agent"],
    )
    write_list(
        root, "bits", "substring", ["bad.example", "x y"], matching_attributes=["url", "domain"]
    )
    return WarningLists.load(root)


def test_each_list_reports_its_most_specific_entry(made: WarningLists) -> None:
    assert by_id(made.match("ipv4", "10.1.2.3")) == {"outer": "10.1.0.0/16", "inner": "10.1.2.0/24"}
    assert by_id(made.match("ipv4", "10.1.2.7")) == {"outer": "10.1.0.0/16", "inner": "10.1.2.7"}
    assert by_id(made.match("ipv4", "10.200.0.1")) == {"outer": "10.0.0.0/8"}
    assert by_id(made.match("ipv4-cidr", "10.1.2.0/25")) == {
        "outer": "10.1.0.0/16",
        "inner": "10.1.2.0/24",
    }
    assert not made.match("ipv4", "11.0.0.0")


def test_unreadable_entries_are_reported_not_guessed(made: WarningLists) -> None:
    assert set(made.rejected) == {("outer", "not-a-cidr"), ("agents", "#unclosed")}


def test_matching_attributes_decide_the_kinds(made: WarningLists) -> None:
    assert ids(made.match("domain", EMPTY_MD5)) == {"hashes"}
    assert not made.match("md5", EMPTY_MD5)
    assert ids(made.match("mutex", "mutex-abc")) == {"anything"}  # no attributes: all kinds
    assert ids(made.match("sha1", "mutex-abc")) == {"anything"}
    assert not made.match("no-such-kind", "10.1.2.3")


def test_a_category_in_the_file_is_kept(made: WarningLists) -> None:
    assert made.match("domain", "known.example")[0].category == "known"
    assert made.match("mutex", "mutex-abc")[0].category == "false-positive"


def test_regex_lists_take_pcre_delimiters_and_flags(made: WarningLists) -> None:
    assert by_id(made.match("user-agent", "CURL/8.4.0")) == {"agents": "/^curl\\/[0-9.]+$/gi"}
    assert not made.match("user-agent", "Mozilla/5.0 curl/8.4.0")
    assert not made.match("domain", "curl/8.4.0")


def test_substrings_of_domains_match_whole_labels(made: WarningLists) -> None:
    assert by_id(made.match("domain", "www.bad.example")) == {"bits": "bad.example"}
    assert by_id(made.match("url", "http://bad.example.com/x")) == {"bits": "bad.example"}
    assert not made.match("domain", "notbad.example")
    assert by_id(made.match("url", "http://a.test/x y")) == {"bits": "x y"}  # plain substring


def test_empty_and_malformed_values_match_nothing(made: WarningLists) -> None:
    for kind in ("ipv4", "domain", "url", "email", "mutex"):
        assert made.match(kind, "") == ()
    assert made.match("url", "http://[10.1.2.3/x") == ()
    assert made.match("ipv4", "10.1.2") == ()
    assert made.match("ipv4-cidr", "10.1.2.0/33") == ()


# SLOW, and deliberately the only such test: every shipped list (about 4 s, 250 MB at its peak).


def test_slow_every_shipped_list_loads_and_keeps_documentation_addresses_reserved() -> None:
    every_list = WarningLists.load()
    shipped = sorted(p.parent.name for p in default_lists_dir().glob("*/list.json"))
    assert [info.list_id for info in every_list.lists] == shipped
    assert every_list.rejected == ()
    assert {info.type for info in every_list.lists} <= {
        "cidr",
        "string",
        "hostname",
        "substring",
        "regex",
    }
    rnd = random.Random(5737)
    for network in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"):
        block = ipaddress.ip_network(network)
        reserved = {"rfc5735"} if block.version == 4 else {"rfc3849"}
        for _ in range(50):
            address = str(block[rnd.randrange(block.num_addresses)])
            assert ids(every_list.match(f"ipv{block.version}", address)) == reserved, address


def test_the_benign_check_ingest_makes_answers_as_exact_does(lists: WarningLists) -> None:
    """BenignCheck looks in the false-positive lists only, from the observable's own bounds:
    the same answer as `exact` filtered to those lists, for addresses on and off lists (a
    "known" list's among them), ranges, names, hashes and values of no list."""
    rng = random.Random(5)
    values = [
        Observable(
            "ipv4",
            f"{rng.randrange(1, 224)}.{rng.randrange(256)}."
            f"{rng.randrange(256)}.{rng.randrange(256)}",
        )
        for _ in range(3000)
    ]
    values += [Observable(kind, v) for kind, v in [
        ("ipv4", "8.8.8.8"), ("ipv4", "10.1.2.3"), ("ipv4", "192.0.2.1"), ("ipv6", "2001:db8::1"),
        ("ipv6", "2001:4860:4860::8888"), ("ipv4-cidr", "10.0.0.0/8"), ("ipv4-cidr", "10.1.0.0/16"),
        ("ipv4-cidr", "8.8.8.0/24"), ("ipv6-cidr", "2001:db8::/32"), ("domain", "google.com"),
        ("domain", "login.pages.dev"), ("domain", "example.com"), ("md5", EMPTY_MD5),
        ("sha256", EMPTY_SHA256), ("domain", "com"), ("url", "http://example.com/"),
    ]]  # fmt: skip
    check = BenignCheck(lists)
    for observable in values:
        # As ingest hands them over: with the interval an address or range covers.
        given = normalise(observable.kind, observable.value) or observable
        expected = sorted(m.list_id for m in lists.exact(given.kind, given.value)
                          if m.category == "false-positive")  # fmt: skip
        assert check(given) == ("|".join(expected) or None), given
    assert any(check(normalise(k, v)) for k, v in [("ipv4", "10.1.2.3"), ("ipv4", "8.8.8.8")])
