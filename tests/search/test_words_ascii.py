"""The ASCII shortcut of the word rule (search/index.py) cuts text exactly as the Unicode rule."""

from __future__ import annotations

import random
import sys
import unicodedata

from shieldwall.search.index import _ASCII_WORD, _WORD, _fold, _marks, document_of, words


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


def test_marks_are_taken_out_as_unicodedata_says() -> None:
    """_fold's one class of mark characters leaves out exactly the characters whose category
    is a mark (Mn, Mc, Me), over every code point and in mixed text."""
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    kept = every.translate(_marks())
    assert kept == "".join(c for c in every if not unicodedata.category(c).startswith("M"))
    rng = random.Random(11)
    alphabet = "aéÅ\u0301\u0930\u093f\u20dd\u4e2d\u0627\u064e\U0001d165 Ωﬁ①"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        expected = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
        assert _fold(text) == expected, repr(text)
    assert words("Кибер-атака на Ăpărare, 中国 تَجربة") == ["кибер", "атака", "на", "aparare",
                                                         "中国", "تجربة"]  # fmt: skip
