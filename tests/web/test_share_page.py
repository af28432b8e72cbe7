"""The share page: who may not see what it shares (written first), its mistakes beside their
fields, the preview, and a shared report found by another member."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import World
from tests.web.signing_in import csrf_of, signed_in


def post_share(web: Any, action: str = "share", **fields: str) -> Any:
    form = {"name": "Phishing wave", "values": "198.51.100.23\nevil.example", "tlp": "green",
            "distribution": "community", "description": "", **fields}  # fmt: skip
    token = csrf_of(web.get("/share").text)
    return web.post("/share", data={**form, "action": action, "csrf": token})


def report_id(response: Any) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/reports/(report--[0-9a-f-]+)", response.headers["location"])
    assert found
    return found.group(1)


def test_a_red_report_for_one_group_leaves_no_trace_outside_it(world: World, app) -> None:  # type: ignore[no-untyped-def]
    industry, cert, outsider = (world.member(n) for n in ("Grid", "CERT-X", "Outsider"))
    group = world.group([industry, cert], name="Energy ISAC")
    sharer = signed_in(world, app, world.user(industry))
    rid = report_id(post_share(sharer, name="Red secret wave", values="203.0.113.99",
                               tlp="red", distribution="group", sharing_group=group))  # fmt: skip
    other = signed_in(world, app, world.user(outsider))
    for url in ("/reports", "/search?q=Red+secret", "/search?q=203.0.113.99&mode=value", "/"):
        page = other.get(url)
        assert page.status_code == 200 and "Red secret wave" not in page.text, url
        assert page.text.count("203.0.113.99") <= ("203.0.113.99" in url), url  # the query only
    assert other.get(f"/reports/{rid}").status_code == 404
    # The outsider cannot choose a group it is not in.
    refused = post_share(other, tlp="red", distribution="group", sharing_group=group)
    assert refused.status_code == 422 and 'id="sharing_group-error"' in refused.text
    member_of_group = signed_in(world, app, world.user(cert))
    assert "Red secret wave" in member_of_group.get("/reports").text


def test_mistakes_come_back_beside_their_field(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member()))
    blank = web.get("/share").text
    assert "-error" not in blank and "built-in" not in blank  # a fresh form shows no mistake
    page = post_share(web, name=" ", values="not a value at all")
    assert page.status_code == 422
    assert 'id="name-error"' in page.text and 'aria-describedby="name-error"' in page.text
    assert "not a value at all" in page.text and 'id="values-error"' in page.text
    # TLP:RED may not go to the whole community: ingest refuses, said beside the distribution.
    page = post_share(web, tlp="red", distribution="community")
    assert page.status_code == 422 and 'id="distribution-error"' in page.text
    assert "Red" not in web.get("/reports").text.split("<main")[1].split("Phishing")[0]
    forged = web.post("/share", data={"name": "x", "values": "198.51.100.1", "csrf": "no"})
    assert forged.status_code == 403


def test_preview_then_share_and_a_national_cert_finds_it(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member("Pipeline operator")))
    text = "Reported by jane.doe@pipeline.example from host fs01.corp.local."
    page = post_share(web, action="preview", description=text)
    assert page.status_code == 200
    assert "2 indicators found" in page.text and "evil.example" in page.text
    assert "jane.doe@pipeline.example" in page.text  # still in the form's own field...
    preview = page.text.split('class="sanitized">')[1].split("</pre>")[0]
    assert "jane.doe" not in preview and "[EMAIL-1]" in preview  # ...but masked in the preview
    assert 'value="share"' in page.text
    rid = report_id(post_share(web, description=text, use_sanitized="on"))
    cert = signed_in(world, app, world.user(world.member("CERT-Y", kind="national-cert")))
    assert "Phishing wave" in cert.get("/reports").text
    report = cert.get(f"/reports/{rid}").text
    assert "198.51.100.23" in report and "TLP:GREEN" in report
    assert "jane.doe" not in report


def upload(web: Any, content: bytes, name: str = "intel.json") -> Any:
    token = csrf_of(web.get("/share").text)
    return web.post("/share/file", data={"csrf": token},
                    files={"file": (name, content, "application/json")})  # fmt: skip


def test_an_uploaded_file_keeps_its_own_markings_and_bad_files_are_named(world: World, app) -> None:  # type: ignore[no-untyped-def]
    import uuid

    import orjson

    from tests.factories import indicator, report

    mine, other = world.member("Uploader"), world.member("Other")
    web = signed_in(world, app, world.user(mine))
    ioc = indicator("203.0.113.150", tlp="red", distribution="org")
    red = report([ioc["id"]], name="Org-only upload", tlp="red", distribution="org")
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [red, ioc]}
    page = upload(web, orjson.dumps(bundle))
    assert page.status_code == 200 and "Stored 2 objects" in page.text
    outsider = signed_in(world, app, world.user(other))
    for url in ("/reports", "/search?q=Org-only", "/"):
        assert "Org-only upload" not in outsider.get(url).text, url
    assert outsider.get(f"/reports/{red['id']}").status_code == 404
    assert "Org-only upload" in web.get("/reports").text

    event = {"info": "MISP upload", "uuid": str(uuid.uuid4()), "timestamp": "1770000000",
             "Tag": [{"name": "tlp:green"}],
             "Attribute": [{"type": "ip-dst", "value": "198.51.100.151", "to_ids": True,
                            "uuid": str(uuid.uuid4())}]}  # fmt: skip
    page = upload(web, orjson.dumps({"Event": event}))
    assert page.status_code == 200 and "Stored" in page.text, page.text
    assert "MISP upload" in outsider.get("/reports").text

    for bad in (
        b"not json",
        b"{}",
        b"[1]",
        orjson.dumps({"type": "bundle", "objects": [{"type": "x"}]}),
    ):
        page = upload(web, bad)
        assert page.status_code == 422 and 'id="file-error"' in page.text
    forged = web.post("/share/file", data={"csrf": "no"}, files={"file": ("a", b"{}")})
    assert forged.status_code == 403


def upload_csv(web: Any, content: bytes, **fields: str) -> Any:
    token = csrf_of(web.get("/share").text)
    return web.post("/share/file", data={"csrf": token, **fields},
                    files={"file": ("iocs.csv", content, "text/csv")})  # fmt: skip


def found_by_value(web: Any, value: str) -> str:
    """What /search lists for an observable value, below its search form (which echoes it)."""
    page = web.get("/search", params={"q": value, "mode": "value"})
    assert page.status_code == 200
    return page.text.split("<main", 1)[1].split("</form>", 1)[1]


def test_an_uploaded_csv_keeps_its_marking_and_a_bad_row_names_its_line(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member("Csv uploader")))
    outsider = signed_in(world, app, world.user(world.member("Csv outsider")))
    rows = b"type,value,tlp,comment\nip,203.0.113.160,red,on the VPN\ndomain,csv-org.example,,\n"
    page = upload_csv(web, rows, csv_tlp="amber", csv_distribution="org")
    assert page.status_code == 200 and "Stored 2 objects" in page.text, page.text
    for value in ("203.0.113.160", "csv-org.example"):
        assert value not in found_by_value(outsider, value)
        assert value in found_by_value(web, value)
    bad = upload_csv(web, b"type,value\nip,203.0.113.161\nip,not-an-address\n")
    assert bad.status_code == 422 and "line 3" in bad.text and 'id="file-error"' in bad.text
    assert "203.0.113.161" not in found_by_value(web, "203.0.113.161")  # all or nothing
    red = upload_csv(web, b"type,value,tlp\nip,203.0.113.162,red\n", csv_distribution="community")
    assert red.status_code == 422 and "line 2" in red.text  # TLP:RED may not go to everyone
    shared = upload_csv(web, b"type,value\nip,203.0.113.163\n", csv_tlp="green",
                        csv_distribution="community")  # fmt: skip
    assert shared.status_code == 200, shared.text
    found = found_by_value(outsider, "203.0.113.163")
    assert "203.0.113.163" in found and "TLP:GREEN" in found


def test_the_share_page_refers_to_no_other_host(world: World, app) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_members_page import _REFERENCE

    web = signed_in(world, app, world.user(world.member()))
    pages = [web.get("/share").text, post_share(web, action="preview").text]
    for html in pages:
        for ref in _REFERENCE.findall(html):
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref
        assert "http://" not in html and "https://" not in html


def upload_with_progress(web: Any, content: bytes, name: str = "intel.json") -> list[Any]:
    """An upload as the page's script sends it: the answer's lines, each one JSON object."""
    import orjson

    token = csrf_of(web.get("/share").text)
    answer = web.post(
        "/share/file",
        data={"csrf": token},
        files={"file": (name, content, "application/json")},
        headers={"accept": "application/x-ndjson"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    assert answer.headers["cache-control"] == "no-store"
    return [orjson.loads(line) for line in answer.text.splitlines()]


def test_an_upload_tells_its_progress_line_by_line_and_ends_with_its_outcome(  # type: ignore[no-untyped-def]
    world: World, app
) -> None:
    import orjson

    from tests.factories import bundle, indicator, report

    reader = signed_in(world, app, world.user(world.member("Reading only"), role="reader"))
    iocs = [indicator(f"203.0.113.{i}", tlp="green") for i in range(1, 40)]
    shared = report([i["id"] for i in iocs], name="Progress upload", tlp="green")
    content = orjson.dumps(bundle(shared, *iocs))
    refused = upload_with_progress(reader, content)  # a reader may not share: nothing stored
    assert refused[-1]["outcome"] == "refused" and "may not" in refused[-1]["message"]

    mine = world.member("Progress uploader")
    web = signed_in(world, app, world.user(mine))
    outsider = signed_in(world, app, world.user(world.member("Progress outsider")))
    assert "Progress upload" not in outsider.get("/reports").text
    lines = upload_with_progress(web, content)
    assert lines[0] == {"phase": "received"}
    assert lines[-1] == {"outcome": "stored", "message": "Stored 40 objects (0 already here)."}
    for step in lines[1:-1]:  # one a second or a step: what is known of the work so far
        assert step["phase"] in ("read", "stored", "working") and step["seconds"] >= 0, step
        if step["phase"] != "working":
            assert 0 <= step["objects"] <= 40, step
    assert "Progress upload" in outsider.get("/reports").text  # TLP:GREEN, community

    again = upload_with_progress(web, content)
    assert again[-1]["message"] == "Stored 0 objects (40 already here)."
    bad = orjson.dumps({"type": "bundle", "objects": [{"type": "x"}]})
    rejected = upload_with_progress(web, bad)
    assert rejected[-1]["outcome"] == "refused" and "bundle rejected" in rejected[-1]["message"]
    empty = upload_with_progress(web, b"")
    assert empty == [{"outcome": "refused", "message": "Choose a file to upload."}]


def test_free_text_is_read_for_the_indicators_it_holds(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member("Text sharer")))
    outsider = signed_in(world, app, world.user(world.member("Text outsider")))
    mail = (
        "Hi all, the loader called hxxp://update-check[.]example/a.php and then 203.0.113[.]77;\n"
        "it exploits CVE-2024-3400 (T1190). Sample sha256 " + "ab" * 32 + ".\nThanks, the SOC"
    )
    nothing = post_share(web, action="preview", reading="text", values="Thanks, the SOC")
    assert nothing.status_code == 422 and "No indicator found in the text." in nothing.text
    assert 'aria-describedby="values-error"' in nothing.text
    strict = post_share(web, action="preview", values=mail)  # values, one a line: a mistake
    assert strict.status_code == 422 and 'id="values-error"' in strict.text

    preview = post_share(web, action="preview", reading="text", values=mail, tlp="amber",
                         distribution="org")  # fmt: skip
    assert preview.status_code == 200, preview.text
    table = preview.text.split("indicators found</caption>")[1].split("</table>")[0]
    for value in ("http://update-check.example/a.php", "203.0.113.77", "CVE-2024-3400",
                  "T1190", "ab" * 32):  # fmt: skip
        assert value in table, value
    assert 'id="reading-text" name="reading" value="text" checked' in preview.text
    rid = report_id(post_share(web, reading="text", values=mail, name="Loader mail",
                               tlp="amber", distribution="org"))  # fmt: skip
    page = web.get(f"/reports/{rid}").text
    assert "203.0.113.77" in page and "CVE-2024-3400" in page and "TLP:AMBER" in page
    assert outsider.get(f"/reports/{rid}").status_code == 404  # org: its own member only
    assert "Loader mail" not in outsider.get("/reports").text


@pytest.fixture
def listed_app(database_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app with one warning list (public DNS resolvers), as an instance would have."""
    from shieldwall.app import create_app
    from shieldwall.settings import Settings

    cache = str(tmp_path_factory.getbasetemp() / "cache")
    return create_app(Settings(database_url=database_url, warninglists="public-dns-v4",
                               validation_workers=0, cache_dir=cache))  # fmt: skip


def kept_boxes(html: str) -> dict[str, bool]:
    """Each previewed indicator's key -> whether its box is ticked."""
    boxes = re.findall(
        r'<input type="checkbox" id="keep-\d+" name="keep" value="([^"]+)"( checked)?>', html
    )
    return {key: bool(ticked) for key, ticked in boxes}


def test_the_analyst_confirms_a_subset_and_a_warning_listed_value_starts_unticked(
    listed_app,  # type: ignore[no-untyped-def]
) -> None:
    with TestClient(listed_app) as client:
        world = World(listed_app.state.db, client)
        web = signed_in(world, listed_app, world.user(world.member("Subset sharer")))
        mail = "Beacon to 198.51.100.61 and evil-subset-synthetic.net, resolved via 8.8.8.8."
        preview = post_share(web, action="preview", reading="text", values=mail)
        assert preview.status_code == 200, preview.text
        assert kept_boxes(preview.text) == {
            "ipv4:198.51.100.61": True,
            "domain:evil-subset-synthetic.net": True,
            "ipv4:8.8.8.8": False,
        }
        assert "public-dns-v4" in preview.text.split("indicators found")[1].split("</table>")[0]
        shown = ["ipv4:198.51.100.61", "domain:evil-subset-synthetic.net", "ipv4:8.8.8.8"]

        def share(keep: list[str], values: str = mail) -> Any:
            token = csrf_of(web.get("/share").text)
            form = {"name": "Subset wave", "values": values, "reading": "text", "tlp": "green",
                    "distribution": "community", "action": "share", "csrf": token,
                    "shown": shown, "keep": keep}  # fmt: skip
            return web.post("/share", data=form)

        # Nothing kept, or a text edited after its preview: nothing is stored, the page says why.
        none_kept = share([])
        assert none_kept.status_code == 422 and "Keep at least one indicator" in none_kept.text
        edited = share(["ipv4:198.51.100.61"], values=mail + " Also 203.0.113.62.")
        assert edited.status_code == 422 and "changed after its preview" in edited.text
        assert "Subset wave" not in web.get("/reports").text

        rid = report_id(share(["ipv4:198.51.100.61"]))
        page = web.get(f"/reports/{rid}").text
        assert "198.51.100.61" in page
        assert "evil-subset-synthetic.net" not in page and "8.8.8.8" not in page
