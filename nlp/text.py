"""Text folding shared by the NLP stages: case, diacritics and compatibility forms, with offsets kept."""

from __future__ import annotations

import re
import unicodedata

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
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        folded = unicodedata.normalize("NFKD", char.casefold().translate(_EXTRA))
        for piece in folded:
            if unicodedata.combining(piece):
                continue
            out.append(piece)
            offsets.append(index)
    return "".join(out), offsets


def strip_noise(text: str) -> str:
    """Text without URLs and @mentions (they mislead language identification)."""
    return MENTION_RE.sub(" ", URL_RE.sub(" ", text))
