"""Emerging pain points: complaint themes per ISO week, found before anyone adds a category.

For each week, the audience complaints (posts with the ``complaint`` intent, brand accounts
excluded) are embedded with the project encoder and grouped by agglomerative clustering on cosine
distance (average linkage, ``DISTANCE`` threshold); groups of at least ``MIN_POSTS`` posts are themes.
Each theme gets:

* ``key_phrases``: the words and word pairs most particular to the theme against the week's other
  complaints (class-based TF-IDF), in the posts' own languages, stop words and brand names removed;
* ``representative_quote``: the post nearest the theme's centre;
* ``pain_point``: the taxonomy category most of its posts carry, or null (``novel``) when none
  covers at least half of them: those are the complaints the fixed taxonomy does not name yet;
* ``first_seen`` and ``growth``: matched to earlier weeks' themes by centre similarity
  (>= ``SAME_THEME``), the first week it appeared and its size against the previous week's match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections import Counter
from functools import cache

import duckdb
import numpy as np
import pyarrow as pa

from nlp.encoder import make_encoder
from nlp.models import runtime_dir
from nlp.text import strip_noise
from pipelines.contracts import conform
from pipelines.project import Project
from pipelines.storage import ENRICHED
from schemas.tables import THEMES

log = logging.getLogger(__name__)

DISTANCE = 0.12
MIN_POSTS = 3
SAME_THEME = 0.9
TOP_PHRASES = 4
TOKEN_RE = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def themes_path(project: Project) -> str:
    """Themes are a per-week aggregate, so they live beside the marts (``marts/themes/data.parquet``)."""
    return project.storage.mart_path(THEMES.name)


@cache
def _stop_words(language: str) -> frozenset[str]:
    import spacy

    try:
        return frozenset(spacy.blank(language).Defaults.stop_words)
    except Exception:  # noqa: BLE001 - languages spaCy does not know have no stop list
        return frozenset()


def _terms(text: str, language: str, brand_words: set[str]) -> list[str]:
    stops = _stop_words(language) | _stop_words("en")
    text = strip_noise(text).casefold()
    words = [w for w in TOKEN_RE.findall(text) if w not in stops and not any(b in w for b in brand_words)]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _key_phrases(groups: list[list[list[str]]]) -> list[list[str]]:
    """Class-based TF-IDF: terms frequent in a group and rare in the week's other groups."""
    counts = [Counter(t for doc in g for t in set(doc)) for g in groups]
    df = Counter(t for c in counts for t in c)
    out = []
    for c, group in zip(counts, groups, strict=True):
        scored = sorted(((n / len(group)) * np.log(1 + len(groups) / df[t]) * (1.3 if " " in t else 1.0), t)
                        for t, n in c.items() if n >= 2)  # fmt: skip
        phrases: list[str] = []
        for _, term in reversed(scored):
            if not any(term in p or p in term for p in phrases):
                phrases.append(term)
            if len(phrases) == TOP_PHRASES:
                break
        out.append(phrases)
    return out


def _complaints(project: Project) -> pa.Table:
    glob = project.storage.parquet_glob(ENRICHED)
    tz = project.config.timezone
    sql = f"""
        SELECT post_id, text, language, brands, created_at,
               list_transform(pain_points, lambda p: p.id) AS pain_ids,
               CAST(date_trunc('week', timezone('{tz}', created_at)) AS DATE) AS week
        FROM read_parquet('{glob}', union_by_name = true)
        WHERE list_contains(intents, 'complaint') AND NOT is_brand_account AND NOT is_deleted
          AND NOT is_likely_bot
        ORDER BY week, post_id
    """
    with duckdb.connect() as con:
        return con.sql(sql).arrow().read_all()


def _cluster(vectors: np.ndarray) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=DISTANCE)  # fmt: skip
    return model.fit_predict(vectors)


def build_themes(project: Project) -> dict:
    """Rebuild the themes of every week and write the table (weeks are linked to each other)."""
    complaints = _complaints(project)
    brand_words = {w.casefold().lstrip("@#") for b in project.config.brands
                   for w in [b.id, b.name, *b.aliases, *b.handles, *b.hashtags] if len(w) >= 4}  # fmt: skip
    nlp = project.config.nlp
    encoder = make_encoder(
        runtime_dir(project.config, project.base_dir), nlp.mode, nlp.max_tokens, nlp.batch_size
    )
    rows: list[dict] = []
    columns = complaints.to_pydict()
    by_week: dict[dt.date, list[int]] = {}
    for i, week in enumerate(columns["week"]):
        by_week.setdefault(week, []).append(i)
    for week, index in sorted(by_week.items()):
        texts = [columns["text"][i] for i in index]
        vectors = encoder.encode(texts).pooled
        labels = _cluster(vectors)
        members = [np.flatnonzero(labels == k) for k in np.unique(labels)]
        members = [m for m in members if len(m) >= MIN_POSTS]
        if not members:
            continue
        docs = [[_terms(texts[j], columns["language"][index[j]], brand_words) for j in m] for m in members]
        phrases = _key_phrases(docs)
        for m, key in zip(members, phrases, strict=True):
            centre = vectors[m].mean(axis=0)
            centre /= np.linalg.norm(centre)
            nearest = int(m[np.argmax(vectors[m] @ centre)])
            pains = Counter(p for j in m for p in set(columns["pain_ids"][index[j]] or []))
            top = pains.most_common(1)
            pain = top[0][0] if top and top[0][1] >= len(m) / 2 else None
            post_ids = sorted(columns["post_id"][index[j]] for j in m)
            rows.append({
                "period_start": week, "theme_id": "t_" + hashlib.sha256("".join(post_ids).encode()).hexdigest()[:12],
                "label": " / ".join(key[:2]) if key else texts[nearest][:60],
                "key_phrases": key, "representative_post_id": columns["post_id"][index[nearest]],
                "representative_quote": texts[nearest], "posts": len(m), "post_ids": post_ids,
                "languages": sorted({columns["language"][index[j]] for j in m}),
                "brands": sorted({b for j in m for b in columns["brands"][index[j]] or []}),
                "pain_point": pain, "novel": pain is None, "_centre": centre,
            })  # fmt: skip
    _link_over_time(rows)
    table = conform(pa.Table.from_pylist(rows, schema=THEMES.schema), THEMES)
    project.storage.write_parquet(themes_path(project), table)
    return {"themes": table.num_rows, "weeks": len(by_week)}


def _link_over_time(rows: list[dict]) -> None:
    """first_seen and growth by matching each theme to the most similar theme of earlier weeks."""
    rows.sort(key=lambda r: (r["period_start"], -r["posts"]))
    for i, row in enumerate(rows):
        earlier = [r for r in rows[:i] if r["period_start"] < row["period_start"]]
        sims = [(float(r["_centre"] @ row["_centre"]), r) for r in earlier]
        matches = [r for s, r in sims if s >= SAME_THEME]
        row["first_seen"] = min((r["first_seen"] for r in matches), default=row["period_start"])
        previous = [r for r in matches if r["period_start"] == row["period_start"] - dt.timedelta(days=7)]
        row["growth"] = (row["posts"] / previous[0]["posts"] - 1.0) if previous else None
    for row in rows:
        row.pop("_centre")
