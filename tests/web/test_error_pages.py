"""A browser that asks for a page that is not there, or meets a server failure, gets a page with
a way back (and the error id the log holds), never the API's JSON; programs keep their JSON."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.test_accessibility import check

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_an_unknown_page_is_a_page_and_an_unknown_api_path_stays_json(app: FastAPI) -> None:
    with TestClient(app) as client:
        page = client.get("/reports/x/y", headers=BROWSER)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "There is no such page." in page.text and 'href="/"' in page.text
        check("/reports/x/y", page.text)
        for path in ("/api/v1/no-such-route", "/taxii2/no/such/", "/feeds/misp/x/y/z"):
            answer = client.get(path, headers=BROWSER)
            assert answer.status_code == 404, path
            assert not answer.headers["content-type"].startswith("text/html"), path
        assert client.get("/no-such-page").json()["error"]["status"] == 404  # a program's Accept


def test_a_server_failure_on_a_page_names_the_error_id_the_log_holds(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "secret-detail-of-the-page-failure"

    async def fails() -> None:
        raise RuntimeError(secret)

    app.add_api_route("/test-page-fails", fails)
    with TestClient(app) as client, caplog.at_level(logging.ERROR, "shieldwall.errors"):
        page = client.get("/test-page-fails", headers=BROWSER)
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert secret not in page.text and "Traceback" not in page.text
    found = re.search(r"report error id ([0-9a-f]{16})", page.text)
    assert found, page.text
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert len(logged) == 1 and secret in str(logged[0].exc_info[1])
    check("/test-page-fails", page.text)
