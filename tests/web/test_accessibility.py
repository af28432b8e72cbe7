"""Accessibility basics on every page, read from the HTML: the language, landmarks (header, a
labelled navigation, one main), one h1, a label for every control, a caption for every table,
a name for every chart and button. (WCAG 2.1: 1.1.1, 1.3.1, 2.4.1, 2.4.6, 3.1.1, 4.1.2.)"""

from __future__ import annotations

from html.parser import HTMLParser

from tests.factories import World, indicator, report
from tests.web.signing_in import browser, csrf_of, signed_in


class Page(HTMLParser):
    """The elements and text of a page that the checks below look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.label_for: set[str] = set()
        self.open: list[tuple[str, dict[str, str], list[str]]] = []
        self.named: list[tuple[str, dict[str, str], str]] = []  # buttons/tables/svgs, their text
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("button", "caption", "title", "label", "table", "svg"):
            self.open.append((tag, a, []))

    def handle_data(self, data: str) -> None:
        for _, _, texts in self.open:
            texts.append(data)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                name, a, texts = self.open.pop(i)
                self.named.append((name, a, " ".join("".join(texts).split())))
                return

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag]


def check(url: str, html: str) -> None:
    page = Page(html)
    assert page.all("html")[0].get("lang"), url
    assert len(page.all("main")) == 1 and len(page.all("header")) == 1, url
    assert all(n.get("aria-label") for n in page.all("nav")), url
    assert len(page.all("h1")) == 1, url
    for tag, a in page.elements:
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            labelled = a.get("id") in page.label_for or a.get("aria-label")
            assert labelled, f"{url}: a {tag} named {a.get('name')!r} has no label"
    named_tables = sum(
        1 for a in page.all("table") if a.get("aria-labelledby") or a.get("aria-label")
    )
    assert len(page.all("table")) == len(page.all("caption")) + named_tables, (
        f"{url}: a table without a caption"
    )
    for name, a, text in page.named:
        if name == "button":
            assert text or a.get("aria-label"), f"{url}: a button with no name"
        if name == "svg" and a.get("role") == "img":
            assert a.get("aria-label") or a.get("aria-labelledby") or text, url


def test_every_page_has_landmarks_labels_and_captions(world: World, app) -> None:  # type: ignore[no-untyped-def]
    admin = world.admin()
    ioc = indicator("198.51.100.77", tlp="green")
    rep = report([ioc["id"]], name="Green report", tlp="green")
    assert admin.share(rep, ioc)
    check("/login", browser(app).get("/login").text)
    web = signed_in(world, app, admin)
    urls = ["/", "/reports", f"/reports/{rep['id']}", "/search?q=Green", "/lookup", "/members"]
    urls += ["/account", "/admin", "/share", "/exports", f"/objects/{ioc['id']}"]
    for url in urls:
        page = web.get(url)
        assert page.status_code == 200, (url, page.status_code)
        check(url, page.text)
    form = web.get("/lookup").text
    check("POST /lookup", web.post("/lookup", data={"values": "198.51.100.77",
                                                     "csrf": csrf_of(form)}).text)  # fmt: skip
