# ruff: noqa: RUF001 -- the transliteration tables are written in Greek and Cyrillic letters
"""Personal names in running text without a word before them that says "this is a person".

`sanitize.py` finds a name where its context makes it unmistakable (after "Mr", "user:", in a
sign-off). Incident text mostly names people bare: "Jan Kowalski opened the attachment". This
module finds those: a run of capitalised words that starts with a known given name of one of the
partnership's languages and goes on with a word shaped like a family name ("Maria da Conceição
Silva", "Jean-Baptiste Lefèvre", "Γιώργος Παπαδόπουλος"), or, as Hungarian writes them, a family
name then a given name ("Nagy László").

Given names come from the `gender-guesser` package, read offline from the file it ships: Jörg
Michael's first-name dictionary, ~45,000 names with their frequency in each European country,
Turkey, the Caucasus and the US. We use it rather than a list of our own because a list covering
26 languages is a maintenance job of its own, and rather than `names-dataset` (a 55 MB wheel that
takes ~10 s and ~1 GB to load, with numpy) or Faker (a 14 MB test-data generator whose surname
lists stop at the 40-100 most common in several of our languages). Greek and Cyrillic words are
transliterated before the look-up, so the Latin dictionary serves them too.

What must not become a person: threat names (Cobalt Strike, Raspberry Robin, Ragnar Locker:
every multi-word actor, malware and tool name of the MISP galaxies that `pymispgalaxies` ships),
products and organisations (a word like "Browser", "Group", "Bank" anywhere in the phrase), and
capitalised words that merely begin a sentence. Given names that are also common English words
("Will", "Mark", "May") count only with a surname that looks like one.

Both dictionaries are read once, on first use, into a sorted array of 8-byte keys (the given
names with their frequency) and a small set (the threat names); bench/sanitize_names.py measures
what that costs.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import orjson


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


PARTICLES = _word_set(
    "van von de der den da di du del della dos das le la bin ibn al el ter ten zu y"
)
# Capitalised words that end a name: "reported by Jane Doe The next day ...".
STOP_WORDS = _word_set(
    """the this that these those a an and or but if on in at for from to of by with via is was
    are were has had have will would said says who which when where please thanks thank regards
    me us you him her them we our your their it its now here there all any some not no yes also
    dear hi hello subject re fw fwd cc bcc sent date attachment tel phone email e-mail mail mobile
    fax contact victim user name today yesterday tomorrow monday tuesday wednesday thursday
    friday saturday sunday january february march july september october november december
    mon tue wed thu fri sat sun jan feb mar apr jun jul aug sep sept oct nov dec
    mr mrs ms miss mx dr prof sir dame herr frau mme mlle madame monsieur sr sra srta"""
)
# Words that make the whole phrase an organisation, product or threat, never a person:
# "user Account Control", "contact: Lazarus Group", "victim Acme Bank", "Cobalt Strike".
NOT_PERSON_WORDS = _word_set(
    """group team strike bear panda kitten spider chollima typhoon blizzard sandstorm tempest
    sleet apt ltd limited inc llc gmbh ag corp corporation company co plc sa bv security labs
    lab cert csirt soc department dept ministry agency bank services service support desk
    helpdesk admin administrator administrators unit center centre office university college
    school hospital police government council authority association foundation institute
    network networks systems solutions technologies software microsoft google apple amazon
    windows linux defender account control agent server client domain controller portal
    project operation campaign malware ransomware trojan loader stealer backdoor botnet kit
    framework beacon shell web edge chrome firefox outlook exchange azure cloud online
    wiper locker rat worm dropper downloader rootkit bootkit miner exploit browser bot
    tsunami flood dust rain hail cyclone storm jackal tiger leopard buffalo crane chimera
    libra ursa serpens taurus scorpius ocelot
    airport station street road avenue square park bridge river lake mount valley island
    city county province district region airlines airways electric automation controls
    motors energy power telecom communications media capital partners holdings industries
    international global research intelligence defence defense aerospace dynamics health
    insurance financial securities markets consulting gaming studio studios records
    tuesday update patch africa asia europe america americas pacific atlantic arctic
    antarctica oceania mediterranean baltic balkans caucasus scandinavia nordic north south
    east west northern southern eastern western central middle"""
)
# "Jan" is a month only before a number, which ends a run of names anyway; "Secondo" and
# "Segundo" are given names, but mostly "according to" at the start of a sentence.
_NOT_IN_NAME = (STOP_WORDS - {"jan"}) | {"secondo", "segundo"}
# Words that begin sentences and headings and are never part of a name before a given name:
# "Yesterday Anna ..." is not the Hungarian "Nagy Anna".
_NOT_FAMILY_NAME = STOP_WORDS | _word_set(
    """after before during since while later then meanwhile however therefore thus finally
    first second third next last although though because unless until once yet still even
    only just both each every either neither other another such many most more several few
    according analyst engineer manager director officer consultant colleague colleagues head
    chief lead staff employee employees customer customers dear greetings hey welcome ask
    summary overview introduction conclusion recommendations recommendation analysis
    background timeline appendix figure table note notes section chapter step phase stage
    executive technical initial detection mitigation attribution victimology impact
    mayor president minister senator chancellor governor ambassador secretary king queen
    prince princess pope saint lord lady general colonel captain commander professor doctor
    judge são san santo santa sankt st porto puerto port fort new los las"""
)
# Given names that are also everyday English words or heading words: a name only with a
# surname that looks like one ("Mark Kowalski"), never with any capitalised word ("Will
# Microsoft", "May Update", "Patch Tuesday").
_WORD_NAMES = _word_set(
    """will may june april august mark bill grant chase hunter rose guy art major page lane
    gray grey brown king prince duke earl baron sterling silver gold crystal amber ivy sky
    river forest stone wolf fox robin raven summer dawn faith hope joy grace sandy rich don
    max angel victor sun star storm iris ruby jade pearl violet hazel ember luna aurora
    royal hermes isaac ragnar moses lazarus merlin apollo athena juno orion phoenix vega nova
    echo delta alpha sierra oscar romeo lima mike charlie tango kilo march easter noel
    haskell go travis argo kong liberty tor kali paris jordan georgia chad israel kenya
    india santa san saint sankt holly carol earnest constance prudence
    patience mercy justice honor honour hero bishop cardinal marshal general admiral
    colonel sergeant deacon abbot pope ray roman norman german french dutch jersey"""
)

_GREEK = {
    "αι": ("ai", "e"), "ει": ("ei", "i"), "οι": ("oi", "i"), "ου": ("ou",), "υι": ("yi", "i"),
    "αυ": ("av", "af"), "ευ": ("ev", "ef"), "γγ": ("ng",), "γκ": ("gk", "g"), "γχ": ("nch",),
    "μπ": ("mp", "b"), "ντ": ("nt", "d"), "τσ": ("ts",), "τζ": ("tz",), "γι": ("gi", "y"),
    "α": ("a",), "β": ("v",), "γ": ("g",), "δ": ("d",), "ε": ("e",), "ζ": ("z",), "η": ("i",),
    "θ": ("th",), "ι": ("i",), "κ": ("k",), "λ": ("l",), "μ": ("m",), "ν": ("n",), "ξ": ("x",),
    "ο": ("o",), "π": ("p",), "ρ": ("r",), "σ": ("s",), "ς": ("s",), "τ": ("t",),
    "υ": ("y", "i"), "φ": ("f",), "χ": ("ch", "h"), "ψ": ("ps",), "ω": ("o",),
}  # fmt: skip
_CYRILLIC = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "д": ("d",), "е": ("e",),
    "ё": ("e", "yo"), "ж": ("zh",), "з": ("z",), "и": ("i",), "й": ("y", "i", "j"), "к": ("k",),
    "л": ("l",), "м": ("m",), "н": ("n",), "о": ("o",), "п": ("p",), "р": ("r",), "с": ("s",),
    "т": ("t",), "у": ("u",), "ф": ("f",), "х": ("h", "kh"), "ц": ("ts", "c"), "ч": ("ch",),
    "ш": ("sh",), "щ": ("sht", "shch"), "ъ": ("a", ""), "ы": ("y",), "ь": ("", "y"),
    "э": ("e",), "ю": ("yu", "ju"), "я": ("ya", "ja"), "і": ("i",), "ї": ("yi",),
    "є": ("ye",), "ґ": ("g",), "ђ": ("dj",), "ј": ("j",), "љ": ("lj",), "њ": ("nj",),
    "ћ": ("c",), "џ": ("dz",), "ѓ": ("gj",), "ќ": ("kj",), "ѕ": ("dz",),
}  # fmt: skip
_TRANSLITERATIONS = {**_GREEK, **_CYRILLIC}
_TRANSLIT_RE = re.compile("|".join(sorted(_TRANSLITERATIONS, key=len, reverse=True)))
_NON_LATIN_RE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")
# Letters that NFKD leaves alone: ł is not l with a mark, and a dictionary may spell either.
_LATIN_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ß": "ss", "æ": "ae", "œ": "oe",
     "ı": "i", "ħ": "h"}
)  # fmt: skip
_MARKS_RE = re.compile(r"[\u0300-\u036f]")


def _fold(word: str) -> str:
    """Lower case, Latin letters without their marks: the form both sides are compared in."""
    if word.isascii():
        return word.lower()
    folded = _MARKS_RE.sub("", unicodedata.normalize("NFKD", word.casefold()))
    return folded.translate(_LATIN_FOLD)


def _latin_forms(word: str, limit: int = 8) -> list[str]:
    """`word` folded; a Greek or Cyrillic word in its usual transliterations (Γιώργος: giorgos,
    yiorgos; Христо: hristo, khristo), at most `limit` of them."""
    folded = _fold(word)
    if not _NON_LATIN_RE.search(folded):
        return [folded]
    forms = [""]
    pos = 0
    for m in _TRANSLIT_RE.finditer(folded):
        between = folded[pos : m.start()]
        forms = [f + between + alt for f in forms for alt in _TRANSLITERATIONS[m[0]]][:limit]
        pos = m.end()
    return [f + folded[pos:] for f in forms]


# --- the dictionaries ---------------------------------------------------------------------------

# gender-guesser's columns for countries outside the partnership's languages: their names are
# mostly short syllables that are also words elsewhere ("An", "Do", "Sun").
_OTHER_COUNTRIES = frozenset({"china", "india", "japan", "korea", "vietnam", "other_countries"})
_THREAT_CLUSTERS = (
    "threat-actor", "malpedia", "tool", "ransomware", "mitre-malware", "mitre-tool",
    "mitre-intrusion-set", "microsoft-activity-group", "backdoor", "rat", "stealer", "botnet",
    "banker", "exploit-kit", "android", "360net", "tidal-groups", "tidal-software",
)  # fmt: skip


def _key(folded: str) -> int:
    # 8 bytes per name in an array instead of a ~60-byte str in a set; the low 4 bits hold the
    # frequency. The process's own str hash, as the array lives only as long as the process;
    # two of ~33,000 names share the other 60 bits with odds of about 1 in 10^9.
    return hash(folded) & ~0xF


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Given names (key | frequency, sorted) and multi-word threat names (folded)."""

    given: array
    threats: frozenset[str]
    places: frozenset[str]  # one-word country names, folded

    def given_frequency(self, word: str) -> int:
        """0 for an unknown word, else 1 (rare) .. 13 (very common) in its commonest country."""
        forms = _latin_forms(word)
        if "-" in word:  # Jean-Baptiste, Anna-Lena: the first part, when the whole is not known
            forms += _latin_forms(word.split("-", 1)[0])
        best = 0
        for form in forms:
            key = _key(form)
            i = bisect_left(self.given, key)
            if i < len(self.given) and self.given[i] & ~0xF == key:
                best = max(best, self.given[i] & 0xF)
        return best


# A name line: sex code, name, then from column 30 one hex digit of frequency per country.
_NAME_LINE_RE = re.compile(r"[MF1?][MF]? +([^ \n]+)")


def _read_given_names() -> array:
    from gender_guesser.detector import Detector  # its column order, from the package itself

    # As characters " " < "1" < "9" < "A" < "D": the largest is the largest frequency.
    wanted = [i for i, c in enumerate(Detector.COUNTRIES) if c not in _OTHER_COUNTRIES]
    first, last = 30 + wanted[0], 30 + wanted[-1] + 1
    if len(wanted) != last - first:
        raise LookupError("gender-guesser's country columns are not in the expected order")
    best: dict[int, int] = {}
    # Line by line: the whole file as one str would be ~9 MB (it is not all ASCII).
    with (resources.files("gender_guesser") / "data" / "nam_dict.txt").open(encoding="utf-8") as f:
        for line in f:
            m = _NAME_LINE_RE.match(line)
            if m is None:
                continue
            top = max(line[first:last], default=" ")
            name = m[1]
            if top == " " or "+" in name:  # "+": Arabic, Chinese and Korean compounds (Jun+Wei)
                continue
            key = _key(_fold(name))
            best[key] = max(best.get(key, 0), int(top, 16))
    return array("q", sorted(key | f for key, f in best.items()))


_ATTACK_ID_RE = re.compile(r" - [GSC]\d{4}$")  # "Agent Tesla - S0331" in the mitre-* clusters


def _galaxy_clusters() -> Path:
    """The cluster files pymispgalaxies ships, found without importing it: importing it loads
    jsonschema and attrs (~5 MB) that the sanitiser has no use for."""
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("pymispgalaxies is not installed")
    return Path(spec.submodule_search_locations[0]) / "data" / "misp-galaxy" / "clusters"


# The two keys of a cluster file that hold names. Read with a pattern rather than parsed whole:
# the files are mostly descriptions and reference lists, and parsing malpedia.json alone peaks
# at ~45 MB of Python objects. tests/intel/test_sanitize_names.py checks this against a full
# parse of the installed files.
_STRING = rb'"(?:[^"\\]|\\.)*"'
_VALUE_RE = re.compile(rb'"value":\s*(' + _STRING + rb")")
_SYNONYMS_RE = re.compile(rb'"synonyms":\s*\[((?:\s*' + _STRING + rb"\s*,?)*)\s*\]")
_STRING_RE = re.compile(_STRING)


def cluster_names(raw: bytes) -> Iterator[str]:
    """Every value and synonym of a MISP galaxy cluster file."""
    for m in _VALUE_RE.finditer(raw):
        yield orjson.loads(m[1])
    for m in _SYNONYMS_RE.finditer(raw):
        for literal in _STRING_RE.findall(m[1]):
            yield orjson.loads(literal)


def _read_threat_names() -> frozenset[str]:
    clusters = _galaxy_clusters()
    names = set()
    for cluster in _THREAT_CLUSTERS:
        for name in cluster_names((clusters / f"{cluster}.json").read_bytes()):
            words = _ATTACK_ID_RE.sub("", name).split()
            if len(words) > 1:
                names.add(" ".join(_fold(w) for w in words))
    return frozenset(names)


def _read_places() -> frozenset[str]:
    """Countries of one word ("Germany", "Japan"): never part of a personal name. Capitals are
    left out: Sofia, Victoria and Lima are given names too."""
    values = orjson.loads((_galaxy_clusters() / "country.json").read_bytes())["values"]
    return frozenset(_fold(v["value"]) for v in values if len(v["value"].split()) == 1)


_lexicon: Lexicon | None = None
_lexicon_lock = threading.Lock()


def lexicon() -> Lexicon:
    """The dictionaries, read on first use and kept: the API server pays once, and only if a
    client asks for a sanitised preview."""
    global _lexicon
    if _lexicon is None:
        with _lexicon_lock:
            if _lexicon is None:
                _lexicon = Lexicon(_read_given_names(), _read_threat_names(), _read_places())
    return _lexicon


# --- finding names ------------------------------------------------------------------------------

# A surname's shape in the partnership's languages, for given names that are also words.
_FAMILY_NAME_ENDINGS = re.compile(
    r"(?:ski|ska|cki|cka|dzki|dzka|wicz|czyk|czak|ová|ský|ská|ić|ič|ich|ic|ov|ova|ev|eva|enko"
    r"|escu|eanu|opoulos|opoulou|idis|idou|akis|aki|iou|auskas|iauskas|ienė|aitė|ytė|utė|ūtė"
    r"|iūtė|evičius|avičius|iņš|iņa|sen|son|sson|dóttir|dottir|nen|oğlu|ini|etti|ucci|elli"
    r"|ez|mann|er|ton|ley|ey)$"
)
# Endings of words that are things, not families: "File Execution Options", "Alfa Electronics".
_NOT_FAMILY_NAME_ENDINGS = re.compile(
    r"(?:tions?|sions?|ments?|ics|ware|ness|ity|ology|isms?|.{6,}ing|.{5,}ctors?)$"
)
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")
_GAP_RE = re.compile(r"[ \t]{1,2}")


class _Token(NamedTuple):
    start: int
    end: int
    text: str
    kind: str  # "cap" Title case, "upper" ALL CAPS, "initial" J., "particle" van/de


def _tokens(text: str) -> Iterator[_Token | None]:
    """Name-shaped tokens; None wherever a run of them is broken (punctuation, a lower-case
    word, a line break)."""
    last_end = -1
    for m in _TOKEN_RE.finditer(text):
        start, end, word = m.start(), m.end(), m[0]
        if last_end >= 0 and not _GAP_RE.fullmatch(text, last_end, start):
            yield None
        before, nxt = text[start - 1 : start], text[end : end + 1]
        after = text[end + 1 : end + 2]
        if before in ("@", ".", "/", "\\", "_", "[", "$", "%", "#") or nxt in ("@", "_", "]"):
            last_end = -1  # part of an address, a path, a placeholder or an identifier
            yield None
            continue
        if nxt == "." and after.isalnum():  # jane.doe, evil.example
            last_end = -1
            yield None
            continue
        if word[-2:] in ("'s", "\u2019s") and len(word) > 3:  # possessive: Jan Kowalski's laptop
            word, end = word[:-2], end - 2
        folded = word.casefold()
        if folded in PARTICLES:
            kind = "particle"
        elif len(word) == 1 and word.isupper() and nxt == ".":
            kind, end = "initial", end + 1
        elif word[0].isupper() and any(c.islower() for c in word) and not word[1:2].isupper():
            kind = "cap"
        elif _upper_name(word):
            kind = "upper"
        else:
            kind = ""
        if not kind:
            last_end = -1
            yield None
            continue
        yield _Token(start, end, word, kind)
        last_end = end
        if kind == "cap" and nxt in (".", ",", ";", ":", "!", "?", ")", "("):
            last_end = -1
            yield None


def _upper_name(word: str) -> bool:
    """An upper-case family name ("DUPONT"), not an acronym ("NTLM", "AES", "CISA")."""
    folded = _fold(word)
    return (
        word.isupper()
        and len(word) >= 4
        and sum(c in "aeiouy" for c in folded) >= 2
        and folded not in NOT_PERSON_WORDS
    )


def _runs(text: str) -> Iterator[list[_Token]]:
    run: list[_Token] = []
    for token in _tokens(text):
        if token is None:
            if run:
                yield run
            run = []
        else:
            run.append(token)
    if run:
        yield run


def _threat(lex: Lexicon, words: list[_Token]) -> bool:
    return " ".join(_fold(w.text) for w in words) in lex.threats


def _family_name_like(word: str) -> bool:
    return bool(_FAMILY_NAME_ENDINGS.search(_fold(word)) or _FAMILY_NAME_ENDINGS.search(word))


def _thing(lex: Lexicon, word: str) -> bool:
    """A word no family name is: a country, a region, a noun with a noun's ending."""
    folded = _fold(word)
    return folded in lex.places or bool(_NOT_FAMILY_NAME_ENDINGS.search(folded))


def _in_run(lex: Lexicon, run: list[_Token]) -> Iterator[tuple[int, int]]:
    folded = [w.text.casefold() for w in run]
    blocked = [f in NOT_PERSON_WORDS or f in _NOT_IN_NAME for f in folded]
    i = 0
    while i < len(run):
        word = run[i]
        frequency = lex.given_frequency(word.text) if word.kind == "cap" else 0
        if not frequency or blocked[i]:
            i += 1
            continue
        j = i + 1
        while j < len(run) and j - i < 5 and not blocked[j]:
            j += 1
        while j > i + 1 and run[j - 1].kind in ("particle", "initial"):
            j -= 1
        span = run[i:j]
        names = [w for w in span if w.kind in ("cap", "upper")]
        weak = frequency < 2 or folded[i].split("-")[0] in _WORD_NAMES
        # The phrase with a word either side may be a threat's name: "Raspberry Robin".
        around = [run[a:b] for a in {i, max(0, i - 1)} for b in {j, min(len(run), j + 1)}]
        if (
            len(names) >= 2
            and not any(_thing(lex, w.text) for w in names[1:])
            and not (j < len(run) and folded[j] in NOT_PERSON_WORDS)  # Tor Browser, Isaac Wiper
            and not any(_threat(lex, words) for words in around)
            and (not weak or _family_name_like(names[-1].text))
        ):
            yield span[0].start, span[-1].end
            i = j
            continue
        i += 1
    # Family name first, as Hungarian writes them and as forms do ("Nagy László", "KOWALSKI
    # Jan"): only a run of exactly those two words, the second a common given name.
    if len(run) == 2 and run[0].kind in ("cap", "upper") and run[1].kind == "cap":
        family, given = run
        if (
            not any(blocked)
            and folded[0] not in _NOT_FAMILY_NAME
            and folded[1] not in _WORD_NAMES
            and not _thing(lex, family.text)
            and lex.given_frequency(family.text) == 0
            and lex.given_frequency(given.text) >= 3
            and not _threat(lex, run)
        ):
            yield family.start, given.end


def names_in_prose(text: str) -> list[tuple[int, int]]:
    """Spans of personal names in `text` that need no context word to be recognised."""
    lex = lexicon()
    spans: list[tuple[int, int]] = []
    for run in _runs(text):
        if len(run) >= 2:
            spans.extend(_in_run(lex, run))
    return spans
