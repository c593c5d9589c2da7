"""Text folding shared by the NLP stages: case, diacritics and compatibility forms, with offsets kept."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Letters that do not decompose under NFD but that people drop or swap when typing without diacritics.
_EXTRA = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ß": "ss",
                        "ı": "i", "ё": "е"})  # fmt: skip

URL_RE = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<!\w)@[\w.]+(?:@[\w.-]+)?")
HASHTAG_RE = re.compile(r"(?<!\w)#(\w+)")


def fold(text: str) -> tuple[str, list[int]]:
    """Lowercase, strip diacritics and compatibility forms.

    Returns the folded text and, for each folded character, the index of the original character it
    came from, so a match in folded text maps back to a span of the original post.
    """
    if text.isascii():
        return text.lower(), list(range(len(text)))
    pieces = list(map(_fold_char, text))
    folded = "".join(pieces)
    if len(folded) == len(text) and "" not in pieces:  # one character each: offsets are the identity
        return folded, list(range(len(text)))
    offsets: list[int] = []
    for index, piece in enumerate(pieces):
        offsets.extend([index] * len(piece))
    return folded, offsets


@cache
def _fold_char(char: str) -> str:
    folded = unicodedata.normalize("NFKD", char.casefold().translate(_EXTRA))
    return "".join(piece for piece in folded if not unicodedata.combining(piece))


def strip_noise(text: str) -> str:
    """Text without URLs and @mentions (they mislead language identification)."""
    return MENTION_RE.sub(" ", URL_RE.sub(" ", text))
