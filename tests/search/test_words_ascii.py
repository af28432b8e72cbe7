"""The ASCII shortcut of the word rule (search/index.py) cuts text exactly as the Unicode rule."""

from __future__ import annotations

import random

from shieldwall.search.index import _ASCII_WORD, _WORD, document_of, words


def test_every_ascii_character_separates_or_joins_as_the_unicode_rule_says() -> None:
    for code in range(128):
        text = f"ab{chr(code)}cd {chr(code)}x"
        assert _ASCII_WORD.findall(text) == _WORD.findall(text), repr(chr(code))


def test_random_ascii_text_is_cut_alike() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(chr(rng.randrange(128)) for _ in range(rng.randrange(40)))
        assert _ASCII_WORD.findall(text) == _WORD.findall(text), repr(text)


def test_documents_of_ascii_and_other_text() -> None:
    assert words("Evil_RAT v2.1 (C2)") == ["evil", "rat", "v2", "1", "c2"]
    assert words("Café Crème_x") == ["cafe", "creme", "x"]
    doc = document_of({"name": "APT-1 uses CVE-2021-44228", "labels": ["c2_server"]})
    assert doc == "apt 1 uses cve 2021 44228 c2 server cve202144228"
