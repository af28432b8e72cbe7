"""The shortcuts of the word rule (search/index.py) cut and fold text exactly as the Unicode rule:
ASCII text by an ASCII class, other text split at whitespace first, marks of the Basic
Multilingual Plane taken out by one regular expression."""

from __future__ import annotations

import random
import sys
import unicodedata

from shieldwall.search.index import (
    _ASCII_WORD,
    _WORD,
    MAX_WORD_CHARS,
    _bmp_marks,
    _fold,
    _marks,
    _words_of_folded,
    document_of,
    words,
)


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


def test_the_bmp_class_of_marks_is_the_table_of_marks() -> None:
    """Every BMP code point is taken out by _bmp_marks exactly when the table takes it out."""
    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    assert _bmp_marks().sub("", bmp) == bmp.translate(_marks())


def test_text_that_is_not_ascii_is_cut_as_the_unicode_rule_cuts_it() -> None:
    """Split at whitespace (ASCII, no-break, ideographic, line separators...), then each piece
    that is all letters and digits kept whole: the same words as _WORD over the whole text."""
    rng = random.Random(13)
    alphabet = (
        "aZ09_-.+/ \t\n\xa0\u3000\u2028\u200b\u4e2d\u6587\u30a2\u3042\u0627\u0661\u00b2"
        "\u2460\u00e9\u0301\uff21\u00ad\ufe0f\U0001d7d8\U00020000"
    )
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        folded = _fold(text)
        if folded.isascii():
            continue
        expected = [w for w in _WORD.findall(folded) if len(w) <= MAX_WORD_CHARS]
        assert _words_of_folded(folded) == expected, repr(text)
    long_run = "\u4e2d" * (MAX_WORD_CHARS + 1)
    assert _words_of_folded(f"\u6587 {long_run} \u3042-x") == ["\u6587", "\u3042", "x"]
