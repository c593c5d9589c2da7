"""Brand linking: which configured brands a post is about, with the evidence for each.

Matching works on folded text (case, diacritics and compatibility forms removed) and respects word
boundaries. It tolerates inflection the way people write brand names in the languages we serve:

* Latin and Cyrillic names take case endings (Polish ``Kvikiem``, ``Zestą``; Russian ``Квиком``,
  ``Зесты``; Slovene ``s Kvikom``; Icelandic ``Kviks``); a name ending in a vowel may drop it first
  (``Zesta`` -> ``Zesty``). Irregular forms (``Zeście``) belong in the config's aliases.
* Hebrew attaches one-letter prefixes (``בקוויק``, ``וקורבו``, ``שמרקטו``).
* CamelCase hashtags are split (``#KvikFail`` mentions Kvik); @handles, #hashtags and domains from the
  config match as themselves.

A brand's exclusion terms veto it for the whole post (``mercato estivo`` is football, not Mercato).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.text import HASHTAG_RE, fold
from schemas.config import Brand

# Case endings, longest first. One list per script: endings are short and only follow a brand name.
LATIN_ENDINGS = (
    "iem", "owi", "ach", "ami", "ów", "ovi", "ima", "num", "inn", "ins", "inu", "ið",
    "om", "em", "ie", "ov", "ih", "ar", "ir", "um", "in", "es", "ze",
    "a", "u", "e", "y", "i", "o", "s", "ą", "ę",
)  # fmt: skip
CYRILLIC_ENDINGS = (
    "ами", "ого", "ому", "ом", "ой", "ою", "ов", "ам", "ах", "ем", "ею", "ия", "ая",
    "а", "у", "е", "ы", "и", "ю", "я", "о",
)  # fmt: skip
HEBREW_PREFIXES = "והבלמשכ"
_VOWELS = set("aeiouyаеиоуыэюяё")


def _script(word: str) -> str:
    for char in word:
        if "\u0590" <= char <= "\u05ff":
            return "hebrew"
        if "\u0400" <= char <= "\u04ff":
            return "cyrillic"
    return "latin"


def _endings(endings: tuple[str, ...]) -> str:
    folded = sorted({fold(e)[0] for e in endings}, key=len, reverse=True)
    return "|".join(re.escape(e) for e in folded)


def alias_forms(alias: str) -> str:
    """Regex (on folded text, without boundaries) for an alias and its inflected forms."""
    word = fold(alias)[0].strip()
    escaped = re.escape(word)
    script = _script(word)
    if script == "hebrew":
        return escaped
    if not word[-1:].isalpha():
        return escaped
    endings = _endings(CYRILLIC_ENDINGS if script == "cyrillic" else LATIN_ENDINGS)
    forms = [rf"{escaped}(?:{endings})?"]
    if word[-1] in _VOWELS and len(word) > 3:
        forms.append(rf"{re.escape(word[:-1])}(?:{endings})")
    return "|".join(forms)


# Hebrew prefixes attach to any name, also one written in Latin letters ("הKorvo", "ל-Kvik").
_HEBREW_PREFIX = rf"(?:[{HEBREW_PREFIXES}]{{1,3}}-?)?"
# Not inside a word, and not the host part of an e-mail address ("someone@korvo").
_START = r"(?<!\w)(?<!\w@)"


def _literal_core(term: str) -> str:
    return fold(term)[0].strip().lstrip("@#")


def _literal_pattern(term: str, prefix: str = "") -> str:
    """A handle or hashtag as a whole token; ``prefix`` is a regex for its sign ("@?" or "#")."""
    word = _literal_core(term)
    return rf"(?<![\w@#.]){prefix}(?P<core>{re.escape(word)})(?![\w-]|\.\w)"


@dataclass(frozen=True)
class Mention:
    brand_id: str
    matched: str
    start: int
    end: int
    kind: str  # alias | handle | hashtag | domain

    def as_dict(self) -> dict:
        return {
            "brand_id": self.brand_id,
            "matched": self.matched,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
        }


class BrandLinker:
    """Finds configured brands in text. Build once per process; ``link`` is cheap."""

    def __init__(self, brands: list[Brand]):
        self.brand_ids = [b.id for b in brands]
        self._rules: list[tuple[str, str, re.Pattern]] = []  # (brand id, kind, pattern)
        self._alias_full: list[tuple[str, re.Pattern]] = []
        self._exclude: dict[str, re.Pattern] = {}
        cores: list[str] = []  # every rule's core: a post none of them occurs in names no brand
        for brand in brands:
            # Aliases first: when several rules match the same span, the first one names its kind.
            aliases = sorted({a for a in brand.aliases if a.strip()}, key=len, reverse=True)
            if aliases:
                forms = "|".join(alias_forms(a) for a in aliases)
                self._rules.append(
                    (brand.id, "alias", re.compile(rf"{_START}{_HEBREW_PREFIX}(?P<core>{forms})(?!\w)"))
                )
                self._alias_full.append((brand.id, re.compile(rf"(?:{forms})")))
                cores.append(forms)
            for handle in brand.handles:
                if handle.startswith("@"):  # also written without the @ ("mercatohelp")
                    self._rules.append((brand.id, "handle", re.compile(_literal_pattern(handle, "@?"))))
                    cores.append(re.escape(_literal_core(handle)))
            for tag in brand.hashtags:
                self._rules.append((brand.id, "hashtag", re.compile(_literal_pattern(tag, "#"))))
                cores.append(re.escape(_literal_core(tag)))
            for domain in brand.domains:
                self._rules.append(
                    (brand.id, "domain", re.compile(rf"(?<![\w.-]){re.escape(domain)}(?![\w-])"))
                )
                cores.append(re.escape(domain))
            if brand.exclude:
                terms = "|".join(
                    rf"(?<!\w){re.escape(fold(t)[0])}(?!\w)"
                    for t in sorted(brand.exclude, key=len, reverse=True)
                )
                self._exclude[brand.id] = re.compile(terms)
        self._any = re.compile("|".join(cores)) if cores else None

    def mentions(self, text: str) -> list[Mention]:
        """Every brand mention with its span in the original text (exclusions applied)."""
        if not text:
            return []
        folded, offsets = fold(text)
        if self._any is None or not self._any.search(folded):
            return []
        found: dict[tuple[int, int], Mention] = {}
        for brand_id, kind, pattern in self._rules:
            for match in pattern.finditer(folded):
                if match.end() == match.start():
                    continue
                core_start, core_end = match.span("core") if "core" in pattern.groupindex else match.span()
                start, end = offsets[core_start], offsets[core_end - 1] + 1
                found.setdefault((start, end), Mention(brand_id, text[start:end], start, end, kind))
        found.update(self._hashtag_parts(text, found))
        named = {m.brand_id for m in found.values()}
        excluded = {b for b in named & self._exclude.keys() if self._exclude[b].search(folded)}
        return sorted(
            (m for m in found.values() if m.brand_id not in excluded), key=lambda m: (m.start, m.end)
        )

    def _hashtag_parts(self, text: str, already: dict) -> dict:
        """Brand names inside CamelCase hashtags, e.g. #KvikFail or #ZestaLove."""
        out = {}
        for tag in HASHTAG_RE.finditer(text):
            body_start = tag.start(1)
            for part in re.finditer(r"[A-ZА-ЯЁ][a-zа-яё]+|[a-zа-яё]+", tag.group(1)):
                start, end = body_start + part.start(), body_start + part.end()
                if (start, end) in already or end - start == len(tag.group(1)):
                    continue
                word = fold(part.group())[0]
                for brand_id, pattern in self._alias_full:
                    if pattern.fullmatch(word):
                        out[(start, end)] = Mention(brand_id, text[start:end], start, end, "hashtag")
                        break
        return out

    def link(self, text: str) -> tuple[list[str], list[Mention]]:
        """(brand ids in order of first mention, mentions)."""
        found = self.mentions(text)
        ids: list[str] = []
        for mention in found:
            if mention.brand_id not in ids:
                ids.append(mention.brand_id)
        return ids, found
