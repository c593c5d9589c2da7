"""Language identification with lingua, restricted to the languages a project can meet.

The detector knows the configured languages of interest plus the other languages in
``schemas.config.SUPPORTED_LANGUAGES``, so a post in a language nobody configured is labelled as what it
is instead of being forced into the nearest configured one; the languages of interest get a prior
(their confidence counts double), which settles close calls such as Slovene/Croatian or
Spanish/Portuguese in short posts. URLs, @mentions, hashtag signs and brand
names are removed first: they are not evidence of a language. Posts with too little text left, or
where the detector is unsure, fall back to the language the source declared, else ``und``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlp.text import strip_noise
from schemas.config import SUPPORTED_LANGUAGES

UNDETERMINED = "und"
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.1
# The project tells us which languages its audience writes in: a prior, not a constraint.
INTEREST_PRIOR = 2.0
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    confidence: float


@cache
def _detector(languages: tuple[str, ...]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    wanted = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
    return LanguageDetectorBuilder.from_languages(*wanted).with_preloaded_language_models().build()


class LanguageIdentifier:
    def __init__(self, languages_of_interest: list[str] | tuple[str, ...], ignore_terms: list[str] = ()):
        codes = tuple(sorted(set(languages_of_interest) | set(SUPPORTED_LANGUAGES)))
        self._detector = _detector(codes)
        self._interest = {code.upper() for code in languages_of_interest}
        terms = sorted({t for t in ignore_terms if t}, key=len, reverse=True)
        self._ignore = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE) if terms else None

    def _clean(self, text: str) -> str:
        text = strip_noise(text).replace("#", " ")
        if self._ignore is not None:
            text = self._ignore.sub(" ", text)
        return text

    def identify(self, text: str, declared: str | None = None) -> LanguageGuess:
        fallback = LanguageGuess(declared.lower()[:2], 0.0) if declared else LanguageGuess(UNDETERMINED, 0.0)
        cleaned = self._clean(text or "")
        if len(_LETTER_RE.findall(cleaned)) < MIN_LETTERS:
            return fallback
        values = self._detector.compute_language_confidence_values(cleaned)
        if not values:
            return fallback
        best = max(
            values,
            key=lambda v: (
                v.value * (INTEREST_PRIOR if v.language.iso_code_639_1.name in self._interest else 1)
            ),
        )
        if best.value < MIN_CONFIDENCE:
            return fallback
        return LanguageGuess(best.language.iso_code_639_1.name.lower(), round(float(best.value), 4))
