"""Evaluation of every NLP task: the project's gold set and the public sets under ``../shared/data``.

``listening eval`` calls :func:`run_eval` and prints :func:`format_report`. Every result is a dict of
datasets; each dataset holds ``tasks``; each task holds ``split``, ``n``, ``metrics`` (the headline
scalars), and where relevant ``per_language``, ``per_label`` and ``confusion`` (``{"labels", "matrix"}``,
rows are gold, columns predicted). A shared dataset whose folder or file is absent gives
``{"skipped": "<path> not found"}``. The public sets are read in place for evaluation only: nothing
from them is copied into the repository. ``limit`` caps the items per dataset and language: the
a seeded random sample (seed 0) of each demo language file and of each public set.

Datasets and how they are scored
--------------------------------
* **gold** (always): the demo texts ``pipelines/demo/texts/<lang>.yaml``, audience posts only
  (``brand_posts`` are the brands' own replies and carry no gold labels). Each post's ``topic`` maps to
  gold labels through :data:`TOPIC_LABELS`. Topics that name a pain point (:data:`PAIN_TOPICS`) also
  imply the intent ``complaint``, but only in a post whose gold sentiment is not positive: a positive
  post on such a topic ("the courier carried my bags up 4 floors") is praise of that aspect, so its
  gold is intent ``praise`` and no pain point. Tasks:

  - language id accuracy (``doc._.language`` vs the file's language) and brand linking precision /
    recall / F1 over (post, brand) pairs with the linking-only pipeline (``doc._.brands``);
  - sentiment: accuracy and macro-F1 over negative / neutral / positive, per language and overall;
  - pain points and motives: hit rate (every gold id predicted) over the posts that have one, and
    multi-label micro-F1 over all posts and all taxonomy ids (posts without a gold id are all-negative,
    so any prediction there is a false positive), macro-F1 over the ids that occur in the gold;
  - intents: binary precision / recall / F1 for complaint, question, praise, suggestion and
    churn_intent (gold positive = the topic implies it), and their macro-F1. Topics imply intents
    loosely (a discount post may also be a question), so precision is a lower bound;
  - sarcasm (the posts marked ``sarcasm: true``) precision / recall;
  - switching: exact-set accuracy of ``switch_from`` and ``switch_to`` on the posts that name either.

  Analyzer items get the linking pipeline's language and mentions, as in production.
* **umsab** (``umsab_xlmt_multilingual_tweet_sentiment``): test split, 8 languages (balanced 3-way);
  accuracy and macro-F1 per language, their mean, and the pooled confusion matrix.
* **rusentiment** (``rusentiment_russian_vk/rusentiment_test.csv``, the official test file): the
  positive / negative / neutral rows; ``speech`` (formulaic greetings) and ``skip`` (noise) are dropped.
* **hebrew** (``hebrew_sentiment_onlp``): the test split, positive and negative comments. ``off-topic``
  is dropped: it says what a comment is about, not its tone, so it is no gold for neutral. With only two
  gold classes we report (a) the 3-way prediction scored as is (a predicted neutral is wrong; macro-F1
  over positive and negative) and (b) 2-class accuracy with the prediction resolved by the sign of
  ``sentiment_score``. The 650 comments with CSV-style quote wrapping are unwrapped first.
* **semeval** (``semeval_absa_aspect_categories/absa_opinions_flat.csv``): the English test sentences
  of SemEval 2015 and 2016 (restaurants, laptops, hotels; the 2016 test set is new, so they do not
  overlap; duplicates by text are dropped; out-of-scope sentences skipped). Categories map to pain
  points by :func:`semeval_pain_point`: ``SUPPORT#*`` -> customer_service; ``*#PRICES`` / ``*#PRICE``
  -> price_value; ``SERVICE#GENERAL`` -> staff_behavior (restaurant and hotel service is staff);
  ``*#QUALITY`` and ``*#OPERATION_PERFORMANCE`` -> product_quality. Everything else (AMBIENCE,
  LOCATION, DESIGN_FEATURES, USABILITY, GENERAL, STYLE_OPTIONS, MISCELLANEOUS, ...) has no pain point
  in our taxonomy and is ignored. Pain points are scored on the sentences with at least one NEGATIVE
  opinion whose category maps; gold = the mapped ids of the negative opinions; multi-label micro and
  macro F1 over the ids that occur in the gold (predictions of other ids are not scored), per-id F1
  and support, and the hit rate (at least one gold id predicted). Sentence sentiment is scored on the
  sentences whose opinions all share one polarity (the 3-way labels).
* **customer_support** (``customer_support_sample/kaggle_sample.csv``, 93 tweets): brand linking on
  real customer tweets. A config built in memory has one brand per support account that replies in
  the sample (:data:`SUPPORT_ACCOUNTS`, with the company's names as aliases and the support account
  as handle; an account not in the table gets a brand with its handle only). Threads are the connected
  components of the reply links; the gold brands of an inbound (customer) tweet are the brands whose
  support accounts post in its thread. Tweets in threads without a brand reply are not scored. The
  sample anonymises some brand handles (``@76099``), which no linker can resolve: recall counts them.
  ``brand_linking_readable`` scores the same tweets less those carrying such a number handle.

Metrics come from ``sklearn.metrics``. Macro-F1 averages over the labels that occur in the gold
(a label without gold items has no defined recall); micro scores count (item, label) pairs. A
metric with nothing to measure (no gold item of its kind in a small sample) is None, "n/a" in the report.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from nlp.insights import Analyzer, Item, Mention
from nlp.pipeline import build_pipeline
from nlp.taxonomy import load_taxonomy
from schemas.config import ProjectConfig, parse_config

DEMO_TEXTS = Path(__file__).resolve().parents[1] / "pipelines" / "demo" / "texts"
SENTIMENTS = ("negative", "neutral", "positive")
JUDGED_INTENTS = ("complaint", "question", "praise", "suggestion", "churn_intent")
BATCH_SIZE = 256
SEED = 0
HEBREW_MAX_ROWS = 2000

UMSAB_LANGUAGES = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}

AnalyzerFactory = Callable[[], Analyzer]
Rows = TypeVar("Rows", pd.DataFrame, pd.Series)


# -- gold labels of the demo topics ----------------------------------------------------------------
@dataclass(frozen=True)
class TopicLabels:
    """The gold labels a demo topic implies."""

    pain_points: tuple[str, ...] = ()
    motives: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()


TOPIC_LABELS: dict[str, TopicLabels] = {
    "delivery_delay": TopicLabels(pain_points=("delays",)),
    "app_bug": TopicLabels(pain_points=("outages_bugs",)),
    "missing_items": TopicLabels(pain_points=("lost_items",)),
    "damaged_items": TopicLabels(pain_points=("damaged_items",)),
    "quality": TopicLabels(pain_points=("product_quality",)),
    "price": TopicLabels(pain_points=("price_value",)),
    "billing": TopicLabels(pain_points=("billing_refunds",)),
    "support": TopicLabels(pain_points=("customer_service",)),
    "courier": TopicLabels(pain_points=("staff_behavior",)),
    "discount": TopicLabels(motives=("discounts",)),
    "pass_question": TopicLabels(motives=("general_info",), intents=("question",)),
    "general_question": TopicLabels(intents=("question",)),
    "suggestion": TopicLabels(motives=("submit_ideas",), intents=("suggestion",)),
    "new_product": TopicLabels(motives=("new_products",)),
    "event": TopicLabels(motives=("events",)),
    "community": TopicLabels(motives=("community",)),
    "praise": TopicLabels(intents=("praise",)),
    "switching": TopicLabels(intents=("churn_intent",)),
    "comparison": TopicLabels(),
    "false_hit": TopicLabels(),
    "neutral_news": TopicLabels(),
}
PAIN_TOPICS = frozenset(t for t, labels in TOPIC_LABELS.items() if labels.pain_points)


def gold_labels(topic: str, sentiment: str) -> TopicLabels:
    """Gold labels of a demo post: its topic's labels, with pain topics resolved by the post's tone."""
    if topic not in TOPIC_LABELS:
        raise KeyError(f"demo topic {topic!r} has no entry in nlp.evaluate.TOPIC_LABELS")
    labels = TOPIC_LABELS[topic]
    if topic not in PAIN_TOPICS:
        return labels
    if sentiment == "positive":
        return TopicLabels(motives=labels.motives, intents=("praise",))
    return TopicLabels(labels.pain_points, labels.motives, ("complaint", *labels.intents))


@dataclass(frozen=True)
class GoldPost:
    id: str
    language: str
    text: str
    topic: str
    sentiment: str
    brands: frozenset[str]
    sarcasm: bool
    switch_from: frozenset[str]
    switch_to: frozenset[str]

    @property
    def labels(self) -> TopicLabels:
        return gold_labels(self.topic, self.sentiment)


def _as_set(value: str | list[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else value)


def load_gold(directory: Path = DEMO_TEXTS, limit: int | None = None) -> list[GoldPost]:
    """The audience posts of every demo language file (a seeded sample of ``limit`` per language).

    The files are grouped by topic, so a cap samples rather than taking the first posts.
    """
    posts = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        audience = data["audience"]
        if limit is not None and limit < len(audience):
            audience = [audience[i] for i in sorted(random.Random(SEED).sample(range(len(audience)), limit))]
        for raw in audience:
            posts.append(
                GoldPost(
                    raw["id"],
                    data["language"],
                    raw["text"],
                    raw["topic"],
                    raw["sentiment"],
                    frozenset(raw.get("brands") or ()),
                    bool(raw.get("sarcasm", False)),
                    _as_set(raw.get("switch_from")),
                    _as_set(raw.get("switch_to")),
                )
            )
    return posts


# -- metric helpers --------------------------------------------------------------------------------
def _r(value: float) -> float:
    return round(float(value), 4)


def _mean(values: Sequence[float]) -> float | None:
    """Rounded mean, or None (undefined) for no values."""
    return _r(np.mean(values)) if values else None


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Confusion matrix as ``{"labels", "matrix"}``: rows are gold labels, columns predicted."""
    return {"labels": list(labels), "matrix": confusion_matrix(gold, pred, labels=list(labels)).tolist()}


def classification(
    gold: Sequence[str],
    pred: Sequence[str],
    labels: Sequence[str] = SENTIMENTS,
    matrix_labels: Sequence[str] | None = None,
) -> dict:
    """Accuracy, macro-F1 over the ``labels`` that occur in the gold, per-label scores and the confusion.

    A prediction outside ``labels`` is wrong for accuracy and lowers the recall of its gold label;
    ``matrix_labels`` (default ``labels``) lets the matrix show such predictions as a column.
    """
    if not gold:
        return {"n": 0, "metrics": {}}
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(labels), zero_division=0)
    return {
        "n": len(gold),
        "metrics": {"accuracy": _r(accuracy_score(gold, pred)), "macro_f1": _r(f[s > 0].mean())},
        "per_label": {
            label: {"precision": _r(p[k]), "recall": _r(r[k]), "f1": _r(f[k]), "support": int(s[k])}
            for k, label in enumerate(labels)
        },
        "confusion": confusion(gold, pred, matrix_labels or labels),
    }


def binary(gold: Sequence[bool], pred: Sequence[bool]) -> dict:
    """Precision, recall and F1 of the positive class, with its support and the number predicted."""
    p, r, f, _ = precision_recall_fscore_support(
        np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool), average="binary", zero_division=0
    )
    return {
        "precision": _r(p),
        "recall": _r(r),
        "f1": _r(f),
        "support": int(sum(gold)),
        "predicted": int(sum(pred)),
    }


def multilabel(gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]], labels: Sequence[str]) -> dict:
    """Multi-label scores over ``labels`` (ids outside them are ignored).

    micro: over all (item, label) pairs; macro-F1: mean over the labels with gold support (a label
    that never occurs in the gold has no defined recall); ``per_label`` lists every label.
    """
    index = {label: k for k, label in enumerate(labels)}
    y_true = np.zeros((len(gold), len(labels)), dtype=bool)
    y_pred = np.zeros_like(y_true)
    for i, (g, q) in enumerate(zip(gold, pred, strict=True)):
        y_true[i, [index[x] for x in g if x in index]] = True
        y_pred[i, [index[x] for x in q if x in index]] = True
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    supported = s > 0
    return {
        "metrics": {
            "micro_precision": _r(mp),
            "micro_recall": _r(mr),
            "micro_f1": _r(mf),
            "macro_f1": _r(f[supported].mean()) if supported.any() else None,
        },
        "per_label": {
            label: {
                "precision": _r(p[k]),
                "recall": _r(r[k]),
                "f1": _r(f[k]),
                "support": int(s[k]),
                "predicted": int(y_pred[:, k].sum()),
            }
            for k, label in enumerate(labels)
        },
    }


def hit_rate(
    gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]], require_all: bool = True
) -> float | None:
    """Share of items (with a non-empty gold set) whose gold ids are all (or any) predicted.

    None when no item has a gold id (the rate is undefined).
    """
    hits = [
        set(g) <= set(q) if require_all else bool(set(g) & set(q))
        for g, q in zip(gold, pred, strict=True)
        if g
    ]
    return _mean(hits)


def set_linking(gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]]) -> dict:
    """Precision, recall and F1 over (item, id) pairs, and the share of items whose set is exact."""
    tp = fp = fn = exact = 0
    for g, q in zip(gold, pred, strict=True):
        g, q = set(g), set(q)
        tp, fp, fn, exact = tp + len(g & q), fp + len(q - g), fn + len(g - q), exact + (g == q)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": _r(precision),
        "recall": _r(recall),
        "f1": _r(f1),
        "exact_match": _r(exact / len(gold)) if gold else 0.0,
    }


def _per_group(groups: Sequence[str], score: Callable[[list[int]], dict]) -> dict[str, dict]:
    """``score(indices)`` for each group value, in sorted order, with its ``n``."""
    out = {}
    for group in sorted(set(groups)):
        idx = [i for i, g in enumerate(groups) if g == group]
        out[group] = {"n": len(idx), **score(idx)}
    return out


# -- running the models ----------------------------------------------------------------------------
def analyze(analyzer: Analyzer, items: list[Item]) -> list[dict]:
    """Analyzer rows for ``items``, in batches."""
    rows: list[dict] = []
    for start in range(0, len(items), BATCH_SIZE):
        rows += analyzer.analyze(items[start : start + BATCH_SIZE])
    return rows


def _sample(frame: Rows, limit: int | None) -> Rows:
    """At most ``limit`` rows: a seeded random sample, kept in the original order."""
    if limit is None or len(frame) <= limit:
        return frame
    return frame.sample(n=limit, random_state=SEED).sort_index()


def _missing(*paths: Path) -> dict | None:
    """The 'skipped' entry for the first path that does not exist, else None."""
    for path in paths:
        if not path.exists():
            return {"skipped": f"{path} not found"}
    return None


def _sentiment_task(
    gold: Sequence[str], rows: Sequence[dict], split: str, langs: Sequence[str] | None = None
) -> dict:
    """3-way sentiment scores, and per language when ``langs`` is given."""
    pred = [row["sentiment_label"] for row in rows]
    task = {"split": split, **classification(list(gold), pred)}
    if langs is not None:
        task["per_language"] = _per_group(
            langs, lambda idx: classification([gold[i] for i in idx], [pred[i] for i in idx])["metrics"]
        )
    return task


def _category_task(
    gold: list[tuple[str, ...]], pred: list[list[str]], ids: Sequence[str], langs: list[str], split: str
) -> dict:
    """Pain points or motives on the gold set: hit rate, multi-label F1, per label and per language."""
    scores = multilabel(gold, pred, ids)

    def by_language(idx: list[int]) -> dict:
        g, q = [gold[i] for i in idx], [pred[i] for i in idx]
        return {"hit_rate": hit_rate(g, q), "micro_f1": multilabel(g, q, ids)["metrics"]["micro_f1"]}

    return {
        "split": split,
        "n": len(gold),
        "metric_n": {"hit_rate": sum(1 for g in gold if g)},
        "metrics": {
            "hit_rate": hit_rate(gold, pred),
            "micro_f1": scores["metrics"]["micro_f1"],
            "macro_f1": scores["metrics"]["macro_f1"],
        },
        "per_label": scores["per_label"],
        "per_language": _per_group(langs, by_language),
    }


def _switching_task(posts: list[GoldPost], rows: list[dict]) -> dict:
    """Exact-set accuracy of the brands left and moved to, on the posts whose gold names either."""
    judged = [(p, r) for p, r in zip(posts, rows, strict=True) if p.switch_from or p.switch_to]
    left = [set(r["switch_from"]) == p.switch_from for p, r in judged]
    moved = [set(r["switch_to"]) == p.switch_to for p, r in judged]
    metrics = (
        {
            "from_accuracy": _r(np.mean(left)),
            "to_accuracy": _r(np.mean(moved)),
            "both_accuracy": _r(np.mean(np.logical_and(left, moved))),
        }
        if judged
        else {}
    )
    return {"split": "posts with switch_from/switch_to", "n": len(judged), "metrics": metrics}


# -- gold set --------------------------------------------------------------------------------------
def eval_gold(
    config: ProjectConfig,
    base: Path,
    get_analyzer: AnalyzerFactory,
    limit: int | None = None,
) -> dict:
    """Every task on the demo audience posts (linking-only pipeline first, then the Analyzer)."""
    posts = load_gold(limit=limit)
    sampled = limit is not None and len(posts) < len(load_gold())
    split = f"audience posts, a sample of {limit} per language" if sampled else "all audience posts"
    langs = [p.language for p in posts]
    docs = list(
        build_pipeline(config, base, with_insights=False).pipe([p.text for p in posts], batch_size=BATCH_SIZE)
    )
    tasks: dict[str, dict] = {}

    detected = [doc._.language for doc in docs]
    tasks["language_id"] = {
        "split": split,
        "n": len(posts),
        "metrics": {"accuracy": _r(accuracy_score(langs, detected))},
        "per_language": _per_group(
            langs, lambda idx: {"accuracy": _r(np.mean([detected[i] == langs[i] for i in idx]))}
        ),
    }
    gold_brands = [p.brands for p in posts]
    found = [doc._.brands for doc in docs]
    tasks["brand_linking"] = {
        "split": split,
        "n": len(posts),
        "metrics": set_linking(gold_brands, found),
        "per_language": _per_group(
            langs, lambda idx: set_linking([gold_brands[i] for i in idx], [found[i] for i in idx])
        ),
    }

    items = [
        Item(
            p.text,
            doc._.language,
            [Mention(m["brand_id"], m["start"], m["end"], m["kind"]) for m in doc._.brand_mentions],
        )
        for p, doc in zip(posts, docs, strict=True)
    ]
    rows = analyze(get_analyzer(), items)

    tasks["sentiment"] = _sentiment_task([p.sentiment for p in posts], rows, split, langs)

    for task in ("pain_points", "motives"):
        tasks[task] = _category_task(
            [getattr(p.labels, task) for p in posts],
            [[x["id"] for x in row[task]] for row in rows],
            load_taxonomy(task).ids,
            langs,
            split,
        )
    intents = {
        intent: binary([intent in p.labels.intents for p in posts], [intent in r["intents"] for r in rows])
        for intent in JUDGED_INTENTS
    }
    tasks["intents"] = {
        "split": split,
        "n": len(posts),
        "per_label": intents,
        "metrics": {"macro_f1": _mean([s["f1"] for s in intents.values() if s["support"]])},
        "note": "gold from topics; precision is a lower bound (a topic may carry intents it does not imply)",
    }
    tasks["sarcasm"] = {
        "split": split,
        "n": len(posts),
        "metrics": binary([p.sarcasm for p in posts], [bool(row["sarcasm"]) for row in rows]),
    }
    tasks["switching"] = _switching_task(posts, rows)
    return {
        "dataset": "project gold (demo texts)",
        "n": len(posts),
        "topics": dict(Counter(p.topic for p in posts).most_common()),
        "tasks": tasks,
    }


# -- public sentiment sets -------------------------------------------------------------------------
UMSAB_FILE = Path("umsab_xlmt_multilingual_tweet_sentiment") / "umsab_all_languages.csv"


def eval_umsab(shared: Path, get_analyzer: AnalyzerFactory, limit: int | None = None) -> dict:
    """3-way sentiment on the UMSAB test split, per language (``limit`` rows per language)."""
    path = shared / UMSAB_FILE
    if skipped := _missing(path.parent, path):
        return skipped
    frame = pd.read_csv(path)
    frame = frame[(frame["split"] == "test") & frame["language"].isin(UMSAB_LANGUAGES)]
    frame = pd.concat([_sample(group, limit) for _, group in frame.groupby("language", sort=True)])
    langs = [UMSAB_LANGUAGES[x] for x in frame["language"]]
    rows = analyze(get_analyzer(), [Item(str(t), lang) for t, lang in zip(frame["text"], langs, strict=True)])
    gold = frame["label_name"].tolist()
    task = _sentiment_task(gold, rows, "test", langs)
    task["metrics"]["mean_macro_f1_over_languages"] = _mean(
        [v["macro_f1"] for v in task["per_language"].values()]
    )
    return {"dataset": "UMSAB (XLM-T tweets)", "n": len(gold), "tasks": {"sentiment": task}}


def eval_rusentiment(shared: Path, get_analyzer: AnalyzerFactory, limit: int | None = None) -> dict:
    """3-way sentiment on the RuSentiment test file (speech and skip rows dropped)."""
    path = shared / "rusentiment_russian_vk" / "rusentiment_test.csv"
    if skipped := _missing(path.parent, path):
        return skipped
    frame = pd.read_csv(path)
    frame = _sample(frame[frame["label"].isin(SENTIMENTS)], limit)
    rows = analyze(get_analyzer(), [Item(str(t), "ru") for t in frame["text"]])
    task = _sentiment_task(frame["label"].tolist(), rows, "test (positive/negative/neutral)")
    return {"dataset": "RuSentiment (VK posts)", "n": len(frame), "tasks": {"sentiment": task}}


def _unquote(text: str) -> str:
    """Undo CSV-style quote wrapping left in some Hebrew comments (``"..."`` with doubled quotes)."""
    text = text.strip()
    if len(text) > 1 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"').strip()
    return text


def eval_hebrew(shared: Path, get_analyzer: AnalyzerFactory, limit: int | None = None) -> dict:
    """Sentiment on the Hebrew test split: 3-way prediction and 2-class by score sign."""
    path = shared / "hebrew_sentiment_onlp" / "hebrew_sentiment_token.csv"
    if skipped := _missing(path.parent, path):
        return skipped
    frame = pd.read_csv(path)
    frame = frame[(frame["split"] == "test") & frame["label_name"].isin(("positive", "negative"))]
    frame = _sample(_sample(frame, HEBREW_MAX_ROWS), limit)
    rows = analyze(get_analyzer(), [Item(_unquote(str(t)), "he") for t in frame["comment"]])
    gold = frame["label_name"].tolist()
    split = "test (positive/negative; off-topic dropped)"
    three_way = classification(
        gold, [row["sentiment_label"] for row in rows], ("negative", "positive"), SENTIMENTS
    )
    signs = [
        "positive" if r["sentiment_score"] > 0 else "negative" if r["sentiment_score"] < 0 else "neutral"
        for r in rows
    ]
    two_way = classification(gold, signs, ("negative", "positive"), SENTIMENTS)
    return {
        "dataset": "Hebrew sentiment (ONLP)",
        "n": len(gold),
        "tasks": {
            "sentiment_3way_prediction": {
                "split": split,
                **three_way,
                "note": "predicted neutral counts wrong; macro-F1 over positive/negative",
            },
            "sentiment_2class_by_score_sign": {
                "split": split,
                **two_way,
                "note": "prediction = sign of sentiment_score",
            },
        },
    }


# -- SemEval ABSA pain points ----------------------------------------------------------------------
def semeval_pain_point(entity: str, attribute: str) -> str | None:
    """Our pain point for a SemEval ENTITY#ATTRIBUTE category, or None when the taxonomy has none."""
    if entity == "SUPPORT":
        return "customer_service"
    if attribute in ("PRICES", "PRICE"):
        return "price_value"
    if (entity, attribute) == ("SERVICE", "GENERAL"):
        return "staff_behavior"
    if attribute in ("QUALITY", "OPERATION_PERFORMANCE"):
        return "product_quality"
    return None


def eval_semeval(shared: Path, get_analyzer: AnalyzerFactory, limit: int | None = None) -> dict:
    """Pain points on negative review sentences and sentence sentiment (SemEval 2015-16 EN test)."""
    path = shared / "semeval_absa_aspect_categories" / "absa_opinions_flat.csv"
    if skipped := _missing(path.parent, path):
        return skipped
    frame = pd.read_csv(path)
    frame = frame[
        frame["edition"].isin((2015, 2016))
        & (frame["lang"] == "en")
        & (frame["split"] == "test")
        & (frame["annot_type"] == "opinion")
        & ~frame["out_of_scope"].eq(True)
    ]
    frame = frame.assign(
        pain=[
            semeval_pain_point(str(e), str(a))
            for e, a in zip(frame["entity"], frame["attribute"], strict=True)
        ]
    )
    polarities = frame.groupby("text")["polarity"].agg(frozenset)
    complaints = _sample(
        frame[(frame["polarity"] == "negative") & frame["pain"].notna()]
        .groupby("text")["pain"]
        .agg(frozenset),
        limit,
    )
    single = _sample(polarities[polarities.map(lambda p: len(p) == 1 and next(iter(p)) in SENTIMENTS)], limit)
    texts = sorted(set(complaints.index) | set(single.index))
    rows = dict(zip(texts, analyze(get_analyzer(), [Item(t, "en") for t in texts]), strict=True))

    gold = complaints.tolist()
    pred = [[x["id"] for x in rows[t]["pain_points"]] for t in complaints.index]
    occurring = sorted(set().union(*gold))
    scores = multilabel(gold, pred, occurring)
    split = "2015+2016 EN test sentences"
    return {
        "dataset": "SemEval ABSA 2015-16",
        "n": len(texts),
        "tasks": {
            "pain_points": {
                "split": f"{split} with a mapped NEGATIVE opinion",
                "n": len(gold),
                "metrics": {"hit_rate": hit_rate(gold, pred, require_all=False), **scores["metrics"]},
                "per_label": scores["per_label"],
                "note": "scored over the pain points that occur in the gold; hit = any gold id predicted",
            },
            "sentiment": _sentiment_task(
                [next(iter(p)) for p in single], [rows[t] for t in single.index], f"{split}, one polarity"
            ),
        },
    }


# -- customer support brand linking ----------------------------------------------------------------
# Support account -> (brand id, company name, aliases people write).
ANONYMISED_HANDLE = re.compile(r"(?<!\w)@\d+\b")
SUPPORT_ACCOUNTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "AppleSupport": ("apple", "Apple", ("Apple", "iPhone")),
    "AmazonHelp": ("amazon", "Amazon", ("Amazon",)),
    "SpotifyCares": ("spotify", "Spotify", ("Spotify",)),
    "Tesco": ("tesco", "Tesco", ("Tesco",)),
    "VirginTrains": ("virgin_trains", "Virgin Trains", ("Virgin Trains",)),
    "British_Airways": ("british_airways", "British Airways", ("British Airways",)),
    "ChaseSupport": ("chase", "Chase", ("Chase Bank",)),
    "O2": ("o2", "O2", ("O2",)),
    "comcastcares": ("comcast", "Comcast", ("Comcast", "Xfinity")),
    "sprintcare": ("sprint", "Sprint", ("Sprint",)),
    "SouthwestAir": ("southwest", "Southwest Airlines", ("Southwest Airlines", "Southwest")),
    "Ask_Spectrum": ("spectrum", "Spectrum", ("Spectrum",)),
    "HPSupport": ("hp", "HP", ("HP",)),
    "UPSHelp": ("ups", "UPS", ("UPS",)),
}


def support_brand(account: str) -> dict:
    """Brand config for a support account (a generic one with just the handle when not in the table)."""
    brand_id, name, aliases = SUPPORT_ACCOUNTS.get(
        account, ("b_" + "".join(c if c.isalnum() else "_" for c in account.lower()), account, ())
    )
    return {"id": brand_id, "name": name, "aliases": list(aliases), "handles": [f"@{account}"]}


def support_config(accounts: Iterable[str]) -> ProjectConfig:
    """An in-memory project with one brand per support account (the first one is 'own')."""
    brands = [support_brand(a) for a in sorted(set(accounts))]
    brands[0]["own"] = True
    return parse_config(
        {
            "project": "customer support evaluation",
            "brands": brands,
            "languages": ["en", "es"],
            "timezone": "UTC",
        }
    )


def _threads(frame: pd.DataFrame) -> dict[int, int]:
    """Tweet id -> thread root id (connected components of the reply links)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for tweet, replied_to, responses in zip(
        frame["tweet_id"], frame["in_response_to_tweet_id"], frame["response_tweet_id"], strict=True
    ):
        links = [] if pd.isna(replied_to) else [int(replied_to)]
        links += [] if pd.isna(responses) else [int(x) for x in str(responses).split(",") if x.strip()]
        for other in links:
            parent[find(int(tweet))] = find(other)
    return {int(t): find(int(t)) for t in frame["tweet_id"]}


def eval_customer_support(shared: Path, base: Path, limit: int | None = None) -> dict:
    """Brand linking of customer tweets to the brand whose support account replied in the thread."""
    path = shared / "customer_support_sample" / "kaggle_sample.csv"
    if skipped := _missing(path.parent, path):
        return skipped
    frame = pd.read_csv(path, dtype={"author_id": str, "response_tweet_id": str})
    inbound = frame["inbound"].astype(str).str.lower() == "true"
    accounts = frame.loc[~inbound, "author_id"]
    config = support_config(accounts)
    brand_of = {a: support_brand(a)["id"] for a in set(accounts)}
    thread = _threads(frame)
    replied: dict[int, set[str]] = {}
    for tweet, account in zip(frame.loc[~inbound, "tweet_id"], accounts, strict=True):
        replied.setdefault(thread[int(tweet)], set()).add(brand_of[account])
    customers = frame[inbound]
    customers = customers[[thread[int(t)] in replied for t in customers["tweet_id"]]]
    customers = _sample(customers, limit)
    gold = [replied[thread[int(t)]] for t in customers["tweet_id"]]
    nlp = build_pipeline(config, base, with_insights=False)
    texts = customers["text"].astype(str).tolist()
    found = [doc._.brands for doc in nlp.pipe(texts, batch_size=BATCH_SIZE)]
    # The sample replaces some brand handles by numbers ("@76099" for Apple): no linker can read those.
    readable = [i for i, text in enumerate(texts) if not ANONYMISED_HANDLE.search(text)]
    return {
        "dataset": "Customer Support on Twitter (sample)",
        "n": len(gold),
        "tasks": {
            "brand_linking": {
                "split": "inbound tweets in threads with a brand reply",
                "n": len(gold),
                "metrics": set_linking(gold, found),
                "per_label": {
                    b: {"support": sum(b in g for g in gold), "predicted": sum(b in f for f in found)}
                    for b in sorted(set().union(*gold, *found))
                },
                "note": "gold = brands whose support account posts in the thread; some handles anonymised",
            },
            "brand_linking_readable": {
                "split": "the same tweets, less those with a handle the sample anonymised (@<digits>)",
                "n": len(readable),
                "metrics": set_linking([gold[i] for i in readable], [found[i] for i in readable]),
                "note": "what the text lets any linker find: brand handles replaced by numbers are unreadable",
            },
        },
    }


# -- entry points ----------------------------------------------------------------------------------
def default_shared_dir() -> Path:
    env = os.environ.get("LISTENING_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def run_eval(
    config: ProjectConfig,
    base: Path,
    mode: str = "default",
    shared_dir: Path | None = None,
    limit: int | None = None,
) -> dict:
    """Evaluate every task on the gold set and on each public set found under ``shared_dir``."""
    shared = Path(shared_dir) if shared_dir else default_shared_dir()
    get_analyzer: AnalyzerFactory = cache(lambda: Analyzer(config, base, mode))
    return {
        "mode": mode,
        "shared_dir": str(shared),
        "limit": limit,
        "gold": eval_gold(config, base, get_analyzer, limit),
        "umsab": eval_umsab(shared, get_analyzer, limit),
        "rusentiment": eval_rusentiment(shared, get_analyzer, limit),
        "hebrew": eval_hebrew(shared, get_analyzer, limit),
        "semeval": eval_semeval(shared, get_analyzer, limit),
        "customer_support": eval_customer_support(shared, base, limit),
    }


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]


def _datasets(results: dict) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in results.items() if isinstance(v, dict)]


def format_report(results: dict) -> str:
    """Markdown: a headline table, then per-language and per-label tables and confusion matrices."""
    limit = results.get("limit")
    out = [
        f"# NLP evaluation (mode: {results.get('mode')}, limit: {limit if limit is not None else 'none'})",
        "",
        "## Headline",
        "",
    ]
    headline = []
    for key, data in _datasets(results):
        if "skipped" in data:
            headline.append(("-", key, "-", 0, "skipped", data["skipped"]))
            continue
        for task, res in data["tasks"].items():
            for metric, value in res["metrics"].items():
                n = res.get("metric_n", {}).get(metric, res["n"])
                headline.append((task, key, res["split"], n, metric, value))
    out += _table(("task", "dataset", "split", "n", "metric", "value"), headline)
    for key, data in _datasets(results):
        if "skipped" in data:
            continue
        out += ["", f"## {key}: {data['dataset']} (n={data['n']})"]
        if "topics" in data:
            out += ["", "Topics: " + ", ".join(f"{t} {c}" for t, c in data["topics"].items())]
        for task, res in data["tasks"].items():
            extra = [k for k in ("per_language", "per_label", "confusion") if res.get(k)]
            if not extra and "note" not in res:
                continue
            out += ["", f"### {task} ({res['split']}, n={res['n']})"]
            if "note" in res:
                out += ["", f"Note: {res['note']}."]
            for part in ("per_language", "per_label"):
                table = res.get(part)
                if table:
                    columns = list(dict.fromkeys(c for row in table.values() for c in row))
                    out += [
                        "",
                        *_table(
                            (part.removeprefix("per_"), *columns),
                            ((name, *(row.get(c, "") for c in columns)) for name, row in table.items()),
                        ),
                    ]
            if res.get("confusion"):
                labels, matrix = res["confusion"]["labels"], res["confusion"]["matrix"]
                out += [
                    "",
                    "Confusion (rows gold, columns predicted):",
                    "",
                    *_table(
                        ("gold \\ pred", *labels), ((g, *row) for g, row in zip(labels, matrix, strict=True))
                    ),
                ]
    return "\n".join(out) + "\n"
