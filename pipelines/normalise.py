"""Raw records -> ``posts`` rows, with a reason for every record that cannot be normalised.

Field parsing is forgiving where a value is optional (an unreadable like count becomes null and is
counted) and strict where the post would be meaningless without it (text, timestamp, id): those
records go to quarantine with the field and the problem named.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from pipelines.identity import Pseudonymiser, content_id, post_id
from schemas.config import IDENTIFIER, Brand

# Naive timestamp layouts seen in exports, tried after ISO 8601. Day-first (European) for slashes.
_LAYOUTS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
    "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d",
)  # fmt: skip
_EPOCH_RE = re.compile(r"^\d{9,13}(\.\d+)?$")
_MAX_FUTURE = dt.timedelta(days=1)
# Longer than any social post or review (Reddit allows 40,000); past this it is a dump, not a post.
MAX_TEXT_CHARS = 100_000


class FieldError(ValueError):
    """A value that cannot be used; the message names the field."""


def parse_timestamp(value: object, tz: ZoneInfo, date_format: str | None = None) -> dt.datetime:
    """Parse a timestamp into an aware UTC datetime; naive values are read in ``tz``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError("empty")
    parsed: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str):
        text = value.strip()
        if date_format:
            try:
                parsed = dt.datetime.strptime(text, date_format)
            except ValueError:
                raise FieldError(f"{text!r} does not match the date format {date_format!r}") from None
        elif _EPOCH_RE.match(text):
            parsed = _from_epoch(float(text))
        else:
            parsed = _parse_text_timestamp(text)
    if parsed is None:
        raise FieldError(f"cannot parse {value!r} as a date/time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(dt.UTC)


def _from_epoch(number: float) -> dt.datetime:
    if number > 1e11:  # milliseconds
        number /= 1000
    return dt.datetime.fromtimestamp(number, tz=dt.UTC)


def _parse_text_timestamp(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        pass
    for layout in _LAYOUTS:
        try:
            return dt.datetime.strptime(text, layout)
        except ValueError:
            continue
    try:
        return email.utils.parsedate_to_datetime(text)  # RFC 2822, as in RSS
    except (TypeError, ValueError, IndexError):
        return None


def parse_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(f"{value!r} is not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value)
    else:
        text = str(value).strip().replace(",", "").replace("_", "").replace(" ", "")
        scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
        if scale > 1:
            text = text[:-1]
        try:
            number = int(float(text) * scale)
        except ValueError:
            raise FieldError(f"{value!r} is not a number") from None
    if number < 0:
        raise FieldError(f"{value!r} is negative")
    return number


def parse_float(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        raise FieldError(f"{value!r} is not a number") from None


def parse_bool(value: object) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "t"):
        return True
    if text in ("0", "false", "no", "n", "f"):
        return False
    raise FieldError(f"{value!r} is not true/false")


def source_id(value: object) -> str:
    text = re.sub(r"[^a-z0-9_]+", "_", str(value).strip().lower()).strip("_")
    if not re.match(IDENTIFIER, text):
        raise FieldError(f"{value!r} is not usable as a source id")
    return text


class BrandAccounts:
    """Recognises posts made by the configured brand accounts."""

    def __init__(self, brands: list[Brand]):
        self._by_handle: dict[str, str] = {}
        for brand in brands:
            for handle in brand.handles:
                self._by_handle[self.normalise(handle)] = brand.id

    @staticmethod
    def normalise(handle: str) -> str:
        return handle.strip().lstrip("@").lower()

    def brand_of(self, author: str | None) -> str | None:
        if not author:
            return None
        handle = self.normalise(author)
        if handle in self._by_handle:
            return self._by_handle[handle]
        local = handle.split("@", 1)[0]  # user@instance on Mastodon
        return self._by_handle.get(local)


@dataclass
class NormaliseResult:
    rows: list[dict] = field(default_factory=list)
    rejected: list[tuple[dict, str]] = field(default_factory=list)  # (envelope, reason)
    nulled: Counter = field(default_factory=Counter)  # optional fields that could not be parsed


_INT_FIELDS = (
    "likes",
    "reposts",
    "replies",
    "views",
    "author_followers",
    "author_following",
    "author_post_count",
)


def normalise_envelopes(
    envelopes: list[dict],
    mapping: dict[str, str],
    *,
    default_source: str,
    tz: ZoneInfo,
    accounts: BrandAccounts,
    pseudonymiser: Pseudonymiser,
    date_format: str | None = None,
    raw_ref: str = "",
) -> NormaliseResult:
    """Map raw envelopes (payload = a flat record) to posts rows using a column mapping."""
    result = NormaliseResult()
    for envelope in envelopes:
        payload = envelope["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        try:
            row = _normalise_one(
                envelope,
                payload,
                mapping,
                default_source,
                tz,
                accounts,
                pseudonymiser,
                date_format,
                result.nulled,
            )
        except FieldError as exc:
            result.rejected.append((envelope, str(exc)))
            continue
        row["raw_ref"] = f"{raw_ref}#{envelope['record_index']}"
        result.rows.append(row)
    return result


def _get(payload: dict, mapping: dict[str, str], target: str) -> object:
    column = mapping.get(target)
    if column is None:
        return None
    value = payload.get(column)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _normalise_one(
    envelope, payload, mapping, default_source, tz, accounts, pseudonymiser, date_format, nulled
):
    def required(target: str) -> object:
        value = _get(payload, mapping, target)
        if value is None:
            column = mapping.get(target)
            raise FieldError(f"{target}: missing or empty (column {column!r})")
        return value

    def optional(target: str, parse):
        value = _get(payload, mapping, target)
        try:
            return parse(value)
        except FieldError:
            nulled[target] += 1
            return None

    source = default_source
    if "source" in mapping and _get(payload, mapping, "source") is not None:
        try:
            source = source_id(_get(payload, mapping, "source"))
        except FieldError as exc:
            raise FieldError(f"source: {exc}") from None

    text = required("text")
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False) if isinstance(text, dict | list) else str(text)
    if len(text) > MAX_TEXT_CHARS:
        raise FieldError(f"text: {len(text):,} characters, over the {MAX_TEXT_CHARS:,} a post may have")
    created_raw = required("created_at")
    try:
        created_at = parse_timestamp(created_raw, tz, date_format)
    except FieldError as exc:
        raise FieldError(f"created_at: {exc}") from None
    fetched_at = dt.datetime.fromisoformat(envelope["fetched_at"])
    if created_at > fetched_at + _MAX_FUTURE:
        raise FieldError(
            f"created_at: {created_at.isoformat()} is in the future (fetched {fetched_at.isoformat()})"
        )

    native = _get(payload, mapping, "native_id")
    if native is None:
        # No id in the export: derive one from the content, so the same row always gets the same id.
        native = "h_" + content_id(text, created_at.isoformat(), str(_get(payload, mapping, "author")))
    native = str(native)

    author = _get(payload, mapping, "author")
    author = str(author) if author is not None else None
    brand = accounts.brand_of(author)
    reply_native = _get(payload, mapping, "reply_to")
    url = _get(payload, mapping, "url")
    bio = _get(payload, mapping, "author_bio")

    row = {
        "post_id": post_id(source, native),
        "source": source,
        "native_id": native,
        "url": str(url) if url and str(url).startswith(("http://", "https://")) else None,
        "created_at": created_at,
        "author_id": pseudonymiser.author(source, author) if author else None,
        "author_created_at": optional(
            "author_created_at", lambda v: None if v is None else parse_timestamp(v, tz)
        ),
        "author_bio_length": len(str(bio)) if bio is not None else None,
        "author_verified": optional("author_verified", parse_bool),
        "title": _as_text(_get(payload, mapping, "title")),
        "text": text,
        "source_language": _as_text(_get(payload, mapping, "language")),
        "reply_to": post_id(source, str(reply_native)) if reply_native not in (None, "") else None,
        "is_brand_account": brand is not None,
        "brand_account_of": brand,
        "rating": optional("rating", parse_float),
        "edited_at": optional("edited_at", lambda v: None if v is None else parse_timestamp(v, tz)),
        "is_deleted": bool(optional("is_deleted", parse_bool)),
        "query": envelope["query"],
        "fetched_at": fetched_at,
    }
    for name in _INT_FIELDS:
        row[name] = optional(name, parse_int)
    return row


def _as_text(value: object) -> str | None:
    return None if value is None else str(value)
