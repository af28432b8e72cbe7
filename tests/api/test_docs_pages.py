"""The API documentation pages (Swagger UI, ReDoc) come with every asset from this server: none
refers to another host, and in a real browser that may reach no other host they still render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from shieldwall.api.docs import ASSETS_URL, DOCS_URL, REDOC_URL
from tests.api.serving import serving
from tests.web.test_browser import browser_page  # noqa: F401  (the fixture)

_REFERENCE = re.compile(r'(?:href|src|action|spec-url)="([^"]*)"')


@pytest.mark.sqlite_only  # the docs do not depend on the database
def test_the_docs_pages_refer_to_no_other_host_and_their_assets_are_served(client) -> None:  # type: ignore[no-untyped-def]
    for url in (DOCS_URL, REDOC_URL):
        page = client.get(url)
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "http://" not in page.text and "https://" not in page.text
        references = _REFERENCE.findall(page.text)
        assert references
        for ref in references:
            assert ref.startswith("/") and not ref.startswith("//"), ref
            assert client.get(ref).status_code == 200, ref
        assert "<script>" not in page.text  # no inline script: the CSP would refuse it
    init = client.get(f"{DOCS_URL}/swagger-init.js")
    assert init.headers["content-type"].startswith("text/javascript")
    assert "validatorUrl: null" in init.text  # else Swagger UI sends the document out
    assert client.get(f"{ASSETS_URL}/swagger-ui-bundle.js").text.startswith(("/*", "!"))


@pytest.mark.sqlite_only
def test_the_docs_render_in_a_browser_that_may_reach_no_other_host(  # type: ignore[no-untyped-def]
    app,
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = browser_page
    elsewhere: list[str] = []
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    with serving(app) as url:

        def only_here(route) -> None:  # type: ignore[no-untyped-def]
            if route.request.url.startswith(url + "/"):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_here)
        page.goto(url + DOCS_URL)
        page.wait_for_selector(".opblock", timeout=30_000)  # an operation of the API, drawn
        expect(page.get_by_role("heading", name="Shieldwall").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "swagger.png"))
        page.goto(url + REDOC_URL)
        page.wait_for_selector("[data-section-id]", timeout=30_000)
        expect(page.get_by_text("Shieldwall").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "redoc.png"))
    assert elsewhere == []
    # ReDoc's sidebar shows a logo from cdn.redoc.ly: the CSP stops it (and ReDoc then hides it).
    assert all("img-src" in message for message in refused), refused
