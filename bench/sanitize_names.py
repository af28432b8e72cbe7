"""How well the sanitiser masks personal names, and what it masks that it should not.

    .venv/bin/python bench/sanitize_names.py            # the table; --show lists every miss/FP

- **Recall and precision per language** on bench/sanitize_names_data.py: 30 full names per
  language, written by hand for this evaluation, each in a sentence of an incident report
  (English or the language's own). Nothing there is read by the sanitiser. A name counts as
  found only when one `person-name` finding covers exactly that name; precision counts every
  `person-name` finding in those sentences. "context only" is the sanitiser without the
  dictionary (sanitize_names.names_in_prose), as it was before: what the dictionary adds.
- **False positives on threat-intel prose**: `person-name` findings in the hand-written vendor
  style paragraphs of the data file and in every description and name of the demo data set
  (MISP galaxy and ATT&CK text), where nobody is named. The MISP threat-actor descriptions are
  shown apart: they are real prose but do name people (actors, researchers), so their findings
  are printed for a reader to judge.
- **Cost**: time to read the dictionaries, in a fresh process, median of 3; the memory they hold
  and the peak while reading them (tracemalloc), and the RSS growth (the JSON the galaxies are
  parsed from is freed, but the allocator keeps some of it); throughput of `sanitize_text` on
  the prose paragraphs, and its time on adversarial inputs (long runs of names, of "Mr", of
  separators), which the tests run without timing them.

A measurement, not a test: it always exits 0. Figures for the cost depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sanitize_names_data import (
    ENGLISH,
    FRESH_ENGLISH,
    FRESH_NAMES,
    FRESH_NATIVE,
    FRESH_PROSE,
    NAMES,
    NATIVE,
    PROSE,
)
from shieldwall.intel import sanitize
from shieldwall.intel.sanitize import PERSON_NAME, sanitize_text

# Greek and Bulgarian: the first half transliterated in English sentences, the second half in
# their own script and language; Hungarian: the first half given name first in English, the
# second family name first in Hungarian.
_SPLIT = {"el", "bg", "hu"}


@dataclass(frozen=True)
class NameSet:
    label: str
    names: dict[str, str]
    english: tuple[str, ...]
    native: dict[str, tuple[str, ...]]

    def sentences(self, language: str) -> list[tuple[str, str]]:
        """(sentence, the name in it) for every name of `language`."""
        names = [n.strip() for n in self.names[language].split(";")]
        out = []
        for i, name in enumerate(names):
            native = i >= len(names) // 2 if language in _SPLIT else i % 2 == 1
            templates = self.native[language] if native else self.english
            out.append((templates[(i // 2) % len(templates)].format(name=name), name))
        return out


SETS = (
    NameSet("first set (30 a language; the detector was corrected after its first run)",
            NAMES, ENGLISH, NATIVE),
    NameSet("fresh set (10 a language; measured once, after those corrections)",
            FRESH_NAMES, FRESH_ENGLISH, FRESH_NATIVE),
)  # fmt: skip


def person_findings(text: str) -> list[str]:
    return [f.original for f in sanitize_text(text).findings if f.kind == PERSON_NAME]


Score = tuple[int, int, int, int]


def score(name_set: NameSet, language: str, show: bool) -> Score:
    """(names, found exactly, person findings, partial) for `language`."""
    found = findings = partial = 0
    pairs = name_set.sentences(language)
    for sentence, name in pairs:
        masked = person_findings(sentence)
        findings += len(masked)
        hit = name in masked
        found += hit
        partial += any(m != name and (m in name or name in m) for m in masked)
        if show and (not hit or len(masked) > 1):
            print(f"  {language} missed={not hit} masked={masked}: {sentence}")
    return len(pairs), found, findings, partial


def without_dictionary(fn: Callable[[], Score]) -> Score:
    """`fn()` with the dictionary-based detector switched off: the context-only sanitiser."""
    original = sanitize.names_in_prose
    sanitize.names_in_prose = lambda text: []
    try:
        return fn()
    finally:
        sanitize.names_in_prose = original


def demo_texts() -> list[str]:
    from datetime import UTC, datetime

    from shieldwall.demo_data import build_demo_dataset

    dataset = build_demo_dataset(seed=7, now=datetime(2026, 1, 1, tzinfo=UTC))
    texts = set()
    for bundle in dataset.bundles:
        for obj in bundle.bundle["objects"]:
            texts.update(obj[k] for k in ("name", "description") if isinstance(obj.get(k), str))
    return sorted(texts)


def galaxy_descriptions() -> list[str]:
    from importlib import resources

    path = resources.files("pymispgalaxies") / "data" / "misp-galaxy" / "clusters"
    values = json.loads((path / "threat-actor.json").read_text("utf-8"))["values"]
    return [v["description"] for v in values if v.get("description")]


def false_positives(texts: Iterable[str]) -> tuple[int, int, list[str]]:
    """(words, person findings, the findings) over `texts`."""
    words = findings = 0
    found: list[str] = []
    for text in texts:
        words += len(text.split())
        masked = person_findings(text)
        findings += len(masked)
        found += masked
    return words, findings, found


_LOAD = """
import json, time, tracemalloc
from shieldwall.intel import sanitize_names


def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


before = rss_kb()
tracemalloc.start()
lex = sanitize_names.lexicon()
held, peak = tracemalloc.get_traced_memory()
print(json.dumps({"held": held, "peak": peak, "rss_growth_kb": rss_kb() - before,
                  "given": len(lex.given), "threats": len(lex.threats),
                  "array_bytes": lex.given.itemsize * len(lex.given)}))
"""
_LOAD_PLAIN = """
import json, time
from shieldwall.intel import sanitize_names
started = time.perf_counter()
sanitize_names.lexicon()
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def cost() -> dict[str, float]:
    def run(code: str) -> dict:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return json.loads(out.stdout)

    traced = run(_LOAD)  # tracemalloc slows the reading: its time is not the one reported
    seconds = statistics.median(run(_LOAD_PLAIN)["seconds"] for _ in range(3))
    return {**traced, "seconds": seconds}


def throughput() -> float:
    import time

    text = "\n\n".join(PROSE)
    sanitize_text(text)  # the dictionaries are read
    started, rounds = time.perf_counter(), 20
    for _ in range(rounds):
        sanitize_text(text)
    return rounds * len(text.split()) / (time.perf_counter() - started)


def report(name_set: NameSet, show: bool) -> None:
    print(f"Recall / precision per language, exact name spans: {name_set.label}")
    print(f"{'lang':5} {'recall':>7} {'precision':>9} {'partial':>7}   context only: recall")
    totals = [0, 0, 0, 0]
    before_found = 0
    for language in name_set.names:
        n, found, findings, partial = score(name_set, language, show)
        old = without_dictionary(lambda lang=language: score(name_set, lang, False))
        totals = [a + b for a, b in zip(totals, (n, found, findings, partial), strict=True)]
        before_found += old[1]
        precision = found / findings if findings else 1.0
        print(f"{language:5} {found / n:7.0%} {precision:9.0%} {partial:7d}   {old[1] / n:.0%}")
    n, found, findings, partial = totals
    print(
        f"{'all':5} {found / n:7.1%} {found / findings:9.1%} {partial:7d}   "
        f"{before_found / n:.0%}   ({found}/{n} names, {findings} findings)\n"
    )


# Long runs of what the name finder looks at: capitalised words, given names, context words.
ADVERSARIAL = {
    "'Jan Kowalski ' x 20,000": "Jan Kowalski " * 20_000,
    "'Maria ' x 30,000": "Maria " * 30_000,
    "'Mr ' x 30,000": "Mr " * 30_000,
    "'user Jane ' x 20,000": "user Jane " * 20_000,
    "'Nagy László. ' x 20,000": "Nagy László. " * 20_000,
    "'a.' x 50,000": "a." * 50_000,
}


def adversarial() -> dict[str, float]:
    import time

    sanitize_text("Jan Kowalski")  # the dictionaries are read
    seconds = {}
    for label, text in ADVERSARIAL.items():
        started = time.perf_counter()
        sanitize_text(text)
        seconds[label] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list every miss and extra finding")
    args = parser.parse_args()

    for name_set in SETS:
        report(name_set, args.show)

    print("\nFalse positives (person-name findings where no person is named)")
    corpora = (
        ("vendor-style prose", PROSE),
        ("fresh vendor prose", FRESH_PROSE),
        ("demo data set", demo_texts()),
    )
    for label, texts in corpora:
        words, findings, found = false_positives(texts)
        print(f"  {label:20} {words:6d} words  {findings:3d} findings  {found}")
    words, findings, found = false_positives(galaxy_descriptions())
    print(
        f"  {'MISP actor texts':20} {words:6d} words  {findings:3d} findings "
        f"({findings / words * 10_000:.1f} per 10,000 words; these do name people):"
    )
    for name in sorted(set(found)):
        print(f"      {name}")

    figures = cost()
    print(
        f"\nDictionaries: {figures['given']:,} given names, {figures['threats']:,} threat names;"
        f" read in {figures['seconds']:.2f} s (median of 3 fresh processes); they hold "
        f"{figures['held'] / 1e6:.1f} MB (the given-name array {figures['array_bytes'] / 1e3:.0f}"
        f" kB), {figures['peak'] / 1e6:.0f} MB at the peak of reading; the process's RSS grew "
        f"{figures['rss_growth_kb'] / 1e3:.0f} MB"
    )
    print(f"sanitize_text on prose: {throughput():,.0f} words/s; on adversarial inputs:")
    for label, seconds in adversarial().items():
        print(f"  {label:28} {seconds:.2f} s")


if __name__ == "__main__":
    main()
