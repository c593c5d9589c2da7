"""Author credibility: mark posts whose author looks like a bot or spammer. Posts are never dropped.

Flags (computed from what the source gives; a missing field raises no flag):

* ``new_account``: the account was created less than ``NEW_ACCOUNT_DAYS`` before the post;
* ``high_post_rate``: the account's lifetime posts per day exceed ``MAX_POSTS_PER_DAY``;
* ``follow_ratio``: follows many accounts (>= ``MIN_FOLLOWING``) but almost nobody follows back;
* ``duplicate_text``: the same text (case, spacing, links and @mentions ignored) appears at least
  ``DUPLICATE_MIN`` times in the batch (copy-paste campaigns), or twice from the same author;
* ``no_profile``: an empty bio together with zero followers.

``is_likely_bot`` is true with two or more flags.
Metrics exclude likely bots by default (switchable), see ``docs/metrics.md``.
"""

from __future__ import annotations

import re
from collections import Counter

import pyarrow as pa

from nlp.text import MENTION_RE, URL_RE

NEW_ACCOUNT_DAYS = 14
MAX_POSTS_PER_DAY = 150
MIN_FOLLOWING = 500
MAX_FOLLOW_RATIO = 0.02
DUPLICATE_MIN = 3
MIN_DUPLICATE_CHARS = 25


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", MENTION_RE.sub("", URL_RE.sub("", text or "")).casefold()).strip()


def credibility(posts: pa.Table) -> tuple[list[list[str]], list[bool]]:
    rows = posts.select(["text", "author_id", "created_at", "author_created_at", "author_post_count",
                         "author_followers", "author_following", "author_bio_length"]).to_pylist()  # fmt: skip
    keys = [_normalised(r["text"]) for r in rows]
    by_text = Counter(k for k in keys if len(k) >= MIN_DUPLICATE_CHARS)
    by_author_text = Counter(
        (r["author_id"], k) for r, k in zip(rows, keys, strict=False) if r["author_id"] and k
    )
    flags_out, bots = [], []
    for r, key in zip(rows, keys, strict=False):
        flags = []
        age_days = None
        if r["author_created_at"] is not None:
            age_days = max((r["created_at"] - r["author_created_at"]).total_seconds() / 86400, 0.0)
            if age_days < NEW_ACCOUNT_DAYS:
                flags.append("new_account")
        posts_count = r["author_post_count"]
        if (
            posts_count is not None
            and age_days is not None
            and posts_count / max(age_days, 1.0) > MAX_POSTS_PER_DAY
        ):
            flags.append("high_post_rate")
        following, followers = r["author_following"], r["author_followers"]
        if (
            following is not None
            and followers is not None
            and following >= MIN_FOLLOWING
            and (followers / following < MAX_FOLLOW_RATIO)
        ):
            flags.append("follow_ratio")
        if by_text.get(key, 0) >= DUPLICATE_MIN or (
            r["author_id"] and by_author_text[(r["author_id"], key)] > 1
        ):
            flags.append("duplicate_text")
        if r["author_bio_length"] == 0 and followers == 0:
            flags.append("no_profile")
        flags_out.append(flags)
        bots.append(len(flags) >= 2)
    return flags_out, bots
