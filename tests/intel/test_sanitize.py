"""Sanitising free text before anonymous sharing: what is masked, and what must never be."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.intel.sanitize import KINDS, Finding, SanitizeResult, sanitize_text


def masked(text: str, **kwargs) -> dict[str, str]:
    """original -> kind of everything masked in `text`."""
    return {f.original: f.kind for f in sanitize_text(text, **kwargs).findings}


def assert_untouched(text: str, **kwargs) -> None:
    result = sanitize_text(text, **kwargs)
    assert result.findings == ()
    assert result.text == text


# --- what must NOT be masked (written first: a false positive destroys the intel) ---------------


@pytest.mark.parametrize(
    "text",
    [
        "C2 at 8.8.8.8 and 185.220.101.4, also 203.0.113.7:443",
        "defanged 1[.]2[.]3[.]4 and 45(.)77(.)1(.)2 and 93[.]184[.]216[.]34/24",
        "public v6 2001:db8::1 and 2606:4700::6810:84e5",
        "beacon to evil.example.com and https://cdn.evil-c2.net/x and evil[.]example[.]com",
        "intranet.example.com is public, so is local.example.org and corp.com",
        "md5 d41d8cd98f00b204e9800998ecf8427e sha256 "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "exploited CVE-2024-12345 and cve-2021-44228",
        "first seen 2024-05-01, last 01.05.2024, also 05/01/2024 and 2024/05/01",
        "at 2024-05-01T12:34:56Z and 2024-05-01 12:34:56.123 and 12:34:56",
        "version 10.0.19041.1234, build 2.4.49, v1.2.3.4567890, Server 2012R2, Server 2019",
        "listens on port 4444; ports 135 139 445 3389; ports 1024-65535",
        "epoch 1714550400, pid 1234567, 1 200 000 victims, 1.234.567 EUR, 0.00123456 BTC",
        "Cobalt Strike beacons, Lazarus Group and APT28 and Volt Typhoon and Midnight Blizzard",
        "Emotet and QakBot were dropped by Sandworm Team; FIN7 used Carbanak",
        "contact: Lazarus Group; user Account Control; victim Acme Bank; reported by Microsoft",
        "host APT28 server SHA-256 device WIN10 host G0032 server 2019 host evil.example.com",
        "Host: evil.example.com",
        "MAC 00:1a:2b:3c:4d:5e and std::string and 12:34",
        "Dr.Web and ms office and MS Word",
    ],
)
def test_threat_intel_is_not_masked(text: str) -> None:
    assert_untouched(text)


def test_a_private_looking_prefix_of_a_public_name_is_not_masked() -> None:
    assert_untouched("see dc01.corp.local.evil.com and settings.local.json")


def test_non_private_networks_are_not_masked() -> None:
    # 172.0.0.0/8 contains public space; 0.0.0.0/0 is everything; 192.0.2.0/24 is documentation.
    assert_untouched("172.0.0.0/8 0.0.0.0/0 192.0.2.1 172.32.0.1 11.0.0.1 100.128.0.1")


# --- each kind is masked -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, original",
    [
        ("mail jane.doe@victim.example now", "jane.doe@victim.example"),
        ("mail jane@victim.example.", "jane@victim.example"),
        ("mail jane[at]victim[.]example today", "jane[at]victim[.]example"),
        ("mail jane@victim[.]example today", "jane@victim[.]example"),
        ("mail jane (at) victim (dot) example today", "jane (at) victim (dot) example"),
        ("mail j.doe+tag@mail.victim.co.uk", "j.doe+tag@mail.victim.co.uk"),
    ],
)
def test_email(text: str, original: str) -> None:
    assert masked(text) == {original: "email"}


@pytest.mark.parametrize(
    "original",
    [
        "+49 30 1234567",
        "+44 (0)20 7946 0958",
        "+1-555-123-4567",
        "+33 1 23 45 67 89",
        "(030) 765-4321",
        "030/1234567",
        "0171 2345678",
        "01 23 45 67 89",
        "01.23.45.67.89",
        "555-123-4567",
        "555.123.4567",
        "(555) 123-4567",
        "0049 30 1234567",
    ],
)
def test_phone(original: str) -> None:
    assert masked(f"call back on {original}, thanks") == {original: "phone"}


def test_phone_without_a_shape_needs_context() -> None:
    assert masked("Tel: 1234567 and mobile no. 9876543210") == {
        "1234567": "phone",
        "9876543210": "phone",
    }
    assert_untouched("ticket 1234567 and 9876543210")


@pytest.mark.parametrize(
    "original",
    [
        "10.1.2.3",
        "172.16.5.4",
        "172.31.255.255",
        "192.168.0.10",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.1.1",
        "100.127.255.254",
        "10.0.0.0/8",
        "192.168.0.0/16",
        "10[.]1[.]2[.]3",
        "fd12:3456:789a::1",
        "fc00::/7",
        "fe80::1",
        "fe80::1%eth0",
        "::1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_ip(original: str) -> None:
    assert masked(f"seen from {original} then") == {original: "private-ip"}


def test_private_ip_keeps_its_port() -> None:
    result = sanitize_text("smb to 10.0.0.5:445 and [fe80::1]:8080")
    assert result.text == "smb to [PRIVATE-IP-1]:445 and [[PRIVATE-IP-2]]:8080"


@pytest.mark.parametrize(
    "text, original",
    [
        ("lateral movement to dc01.corp.local today", "dc01.corp.local"),
        ("to FILES.ACME.INTERNAL today", "FILES.ACME.INTERNAL"),
        ("printer.lan, nas.home, wiki.intranet", "printer.lan"),
        ("joined acme.ad and ws1.localdomain", "acme.ad"),
        ("router at gw.home.arpa", "gw.home.arpa"),
        ("defanged dc01[.]corp[.]local", "dc01[.]corp[.]local"),
        ("the host WKS-FIN-042 was encrypted", "WKS-FIN-042"),
        ("hostname: WKS01 was encrypted", "WKS01"),
        ("server DC01 was encrypted", "DC01"),
        ("workstation wks-fin-042 was encrypted", "wks-fin-042"),
        (r"copied to \\FILESRV01\share\loot.zip", "FILESRV01"),
    ],
)
def test_internal_hostname(text: str, original: str) -> None:
    found = masked(text)
    assert found[original] == "internal-hostname"
    assert set(found.values()) == {"internal-hostname"}


def test_machine_names_in_a_list_and_mentioned_again() -> None:
    result = sanitize_text("hosts WKS01, WKS02 and SRV-03 were hit; WKS01 first.")
    assert result.text == (
        "hosts [INTERNAL-HOST-1], [INTERNAL-HOST-2] and [INTERNAL-HOST-3] were hit; "
        "[INTERNAL-HOST-1] first."
    )


def test_a_plain_word_from_a_unc_path_is_masked_only_there() -> None:
    result = sanitize_text(r"copied to \\files\share; the files were big; \\tsclient\c")
    assert result.text == r"copied to \\[INTERNAL-HOST-1]\share; the files were big; \\tsclient\c"


def test_unc_path_to_a_public_host_is_threat_intel() -> None:
    assert_untouched(r"net use \\evil.example.com@SSL\DavWWWRoot and \\1.2.3.4\share")


@pytest.mark.parametrize(
    "text, original",
    [
        ("then Mr John Smith called", "John Smith"),
        ("then Dr. Anna Müller called", "Anna Müller"),
        ("then Ms O'Brien called", "O'Brien"),
        ("then Mrs van der Berg called", "van der Berg"),
        ("contact: Jane Doe", "Jane Doe"),
        ("Contact Jane Doe for details", "Jane Doe"),
        ("this was reported by Jane Doe yesterday", "Jane Doe"),
        ("the victim Jane Doe clicked", "Jane Doe"),
        ("user Jane Doe logged in", "Jane Doe"),
        ("CEO Jean-Luc Picard approved", "Jean-Luc Picard"),
        ("sent by José García", "José García"),
        ("user John F. Kennedy logged in", "John F. Kennedy"),
        ("Jane Doe's laptop, per colleague Jane Doe", "Jane Doe"),
    ],
)
def test_person_name(text: str, original: str) -> None:
    assert masked(text) == {original: "person-name"}


def test_several_names_after_one_context_word() -> None:
    result = sanitize_text("victims Jane Doe, Ana Lima and John Smith were phished")
    assert result.text == "victims [PERSON-1], [PERSON-2] and [PERSON-3] were phished"


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for the report.\n\nBest regards,\nJane Doe\nSOC Analyst, Acme",
        "Regards,\r\nJane Doe\r\n",
        "ok\n-- \nJane Doe, CISO",
        "From: Jane Doe\nSubject: invoice",
    ],
)
def test_person_name_in_signatures_and_headers(text: str) -> None:
    assert masked(text) == {"Jane Doe": "person-name"}


def test_display_names_of_email_headers() -> None:
    result = sanitize_text('From: Jane Doe <jane@victim.example>\nTo: "Doe, John" <j@x.example>')
    assert result.text == 'From: [PERSON-1] <[EMAIL-1]>\nTo: "[PERSON-2]" <[EMAIL-2]>'
    assert masked("forwarded Jane Doe <jane@victim.example>")["Jane Doe"] == "person-name"


def test_a_name_ends_at_a_word_that_is_not_one() -> None:
    result = sanitize_text("reported by Jane Doe The next day Monday")
    assert result.text == "reported by [PERSON-1] The next day Monday"


def test_a_name_found_once_is_masked_everywhere() -> None:
    result = sanitize_text("victim Jane Doe clicked. Later Jane  Doe called IT.")
    assert result.text == "victim [PERSON-1] clicked. Later [PERSON-1] called IT."


def test_lower_case_and_single_words_after_context_are_not_names() -> None:
    assert_untouched("user jdoe, contact the SOC, victim Germany, user John.Smith")


# --- placeholders, keep, internal_domains --------------------------------------------------------


def test_same_value_same_placeholder_and_numbering_by_first_appearance() -> None:
    text = "a@x.example wrote to b@x.example; A@X.EXAMPLE and a[at]x[.]example again; 10.0.0.1"
    result = sanitize_text(text)
    assert result.text == (
        "[EMAIL-1] wrote to [EMAIL-2]; [EMAIL-1] and [EMAIL-1] again; [PRIVATE-IP-1]"
    )


def test_placeholders_already_in_the_text_are_not_reused() -> None:
    result = sanitize_text("[EMAIL-1] and [EMAIL-7] were masked; now b@x.example")
    assert result.text == "[EMAIL-1] and [EMAIL-7] were masked; now [EMAIL-8]"


def test_keep_leaves_a_kind_alone() -> None:
    text = "user Jane Doe at 10.0.0.1 mailed jane@dc01.corp.local"
    result = sanitize_text(text, keep=frozenset({"person-name", "email"}))
    assert result.text == "user Jane Doe at [PRIVATE-IP-1] mailed jane@dc01.corp.local"
    assert {f.kind for f in result.findings} == {"private-ip"}
    assert sanitize_text(text, keep=frozenset(KINDS)).text == text


def test_keep_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        sanitize_text("x", keep=frozenset({"emails"}))


def test_internal_domains() -> None:
    text = "beacon from files.acme-corp.example, vpn.ACME-CORP.EXAMPLE and acme-corp.example"
    assert_untouched(text)
    result = sanitize_text(text, internal_domains=(".acme-corp.example",))
    assert result.text == ("beacon from [INTERNAL-HOST-1], [INTERNAL-HOST-2] and [INTERNAL-HOST-3]")
    # a suffix must end the name: a public look-alike stays intel
    assert_untouched("acme-corp.example.evil.com", internal_domains=("acme-corp.example",))


def test_internal_domains_must_be_names() -> None:
    with pytest.raises(ValueError, match="not a DNS suffix"):
        sanitize_text("x", internal_domains=("acme corp",))
    with pytest.raises(TypeError):
        sanitize_text("x", internal_domains="corp.example")  # type: ignore[arg-type]


# --- offsets, overlaps, the JSON shape -----------------------------------------------------------


def test_offsets_point_into_the_original_text() -> None:
    text = "Dr. Anna Müller (anna@victim.example, +49 30 1234567) on \\\\WKS01\\c$ 10.0.0.1"
    result = sanitize_text(text)
    assert {f.kind for f in result.findings} == set(KINDS)
    for f in result.findings:
        assert text[f.start : f.end] == f.original


def test_the_longest_finding_wins() -> None:
    # the e-mail contains an internal host name; the host name contains a machine name
    result = sanitize_text("mail jane@wks01.corp.local from host WKS01.corp.local")
    assert [(f.kind, f.original) for f in result.findings] == [
        ("email", "jane@wks01.corp.local"),
        ("internal-hostname", "WKS01.corp.local"),
    ]


def test_as_dict() -> None:
    result = sanitize_text("ping 10.0.0.1")
    assert isinstance(result, SanitizeResult)
    assert result.findings == (Finding("private-ip", 5, 13, "10.0.0.1", "[PRIVATE-IP-1]"),)
    assert result.as_dict() == {
        "text": "ping [PRIVATE-IP-1]",
        "findings": [
            {
                "kind": "private-ip",
                "start": 5,
                "end": 13,
                "original": "10.0.0.1",
                "replacement": "[PRIVATE-IP-1]",
            }
        ],
    }


def test_sanitising_the_preview_again_finds_nothing_new() -> None:
    text = (
        'From: "Doe, Jane" <jane@victim.example>\nuser Jane Doe on host WKS01 (10.0.0.1) '
        "called +49 30 1234567.\nRegards,\nJohn Smith"
    )
    once = sanitize_text(text)
    assert sanitize_text(once.text).findings == ()


# Inputs built to make a careless pattern backtrack or a careless loop go quadratic. They are
# run here for their answers; how long they take is bench/sanitize_names.py's to measure.
PATHOLOGICAL = [
    "a." * 50_000,
    "a@" + "b." * 50_000,
    "1 " * 50_000,
    "1-" * 50_000,
    "(1 " * 30_000,
    "a:" * 50_000,
    "host " * 20_000,
    "Mr " * 30_000,
    "user Jane " * 20_000,
    "Jan Kowalski " * 20_000,
    "Maria " * 30_000,
    "x" * 100_000,
    "[at]" * 30_000,
    "\\\\" * 50_000,
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=lambda t: repr(t[:12]))
def test_pathological_input_gives_consistent_findings(text: str) -> None:
    result = sanitize_text(text)
    rebuilt, last = [], 0
    for f in result.findings:
        assert last <= f.start < f.end and text[f.start : f.end] == f.original
        rebuilt += [text[last : f.start], f.replacement]
        last = f.end
    assert result.text == "".join([*rebuilt, text[last:]])


# --- properties ----------------------------------------------------------------------------------

FRAGMENTS = [
    "jane@victim.example", "a[at]b[.]example", "+49 30 1234567", "(555) 123-4567", "10.0.0.1",
    "1[.]2[.]3[.]4", "fe80::1", "fd00::/8", "dc01.corp.local", "host WKS01", "\\\\SRV01\\x",
    "Mr John Smith", "contact: Jane Doe", "Regards,\nJane Doe", "Jane Doe <j@x.example>",
    "2024-05-01", "CVE-2024-1234", "v1.2.3", "[EMAIL-1]", "<", ">", '"', " ", "\n", ",", ".",
    ":", "-", "[", "]", "(", ")", "@", "0", "1", "Jane", "Doe",
]  # fmt: skip
texts = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=30).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(text=texts, keep=st.frozensets(st.sampled_from(KINDS)))
def test_any_text_gives_consistent_findings(text: str, keep: frozenset[str]) -> None:
    result = sanitize_text(text, keep=keep, internal_domains=("acme.example",))

    previous_end = 0
    placeholder_of: dict[tuple[str, str], str] = {}
    rebuilt = []
    for f in result.findings:
        assert f.kind in KINDS and f.kind not in keep
        assert 0 <= previous_end <= f.start < f.end <= len(text)
        assert text[f.start : f.end] == f.original
        assert placeholder_of.setdefault((f.kind, f.original), f.replacement) == f.replacement
        rebuilt += [text[previous_end : f.start], f.replacement]
        previous_end = f.end
    rebuilt.append(text[previous_end:])
    assert result.text == "".join(rebuilt)
    assert result.as_dict()["text"] == result.text
