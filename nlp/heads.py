"""Linear heads over sentence vectors: one per task, stored as small ``.npz`` files with a model card.

A head is ``logits = X @ W.T + b``. Single-label tasks (sentiment, emotion, formality) take a softmax;
multi-label tasks (intents, pain points, motives) and the sarcasm flag take a sigmoid per label and a
per-label threshold chosen by cross-validation. Because the encoders pool linearly, ``W`` also turns
token vectors into per-token contributions (see :mod:`nlp.encoder`), which is where evidence comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.taxonomy import load_taxonomy
from schemas.tables import EMOTIONS, FORMALITY, INTENTS, SENTIMENT_LABELS

HEADS_DIR = Path(__file__).with_name("heads")


def task_labels() -> dict[str, tuple[str, tuple[str, ...]]]:
    """task -> (kind, labels). Kinds: 'single' (softmax), 'multi' (sigmoid per label)."""
    return {
        "sentiment": ("single", SENTIMENT_LABELS),
        "emotion": ("single", EMOTIONS),
        "formality": ("single", FORMALITY),
        "sarcasm": ("multi", ("sarcasm",)),
        "intents": ("multi", INTENTS),
        "pain_points": ("multi", tuple(c.id for c in load_taxonomy("pain_points").categories)),
        "motives": ("multi", tuple(c.id for c in load_taxonomy("motives").categories)),
    }


@dataclass
class Head:
    task: str
    kind: str
    labels: tuple[str, ...]
    weights: np.ndarray  # (C, D)
    bias: np.ndarray  # (C,)
    thresholds: np.ndarray  # (C,), multi-label only

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights.T + self.bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x)
        if self.kind == "single":
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        return 1.0 / (1.0 + np.exp(-z))


def heads_path(mode: str) -> Path:
    return HEADS_DIR / f"heads-{mode}.npz"


def save_heads(heads: dict[str, Head], mode: str) -> Path:
    arrays = {}
    meta = {}
    for task, head in heads.items():
        arrays[f"{task}.W"] = head.weights.astype(np.float32)
        arrays[f"{task}.b"] = head.bias.astype(np.float32)
        arrays[f"{task}.t"] = head.thresholds.astype(np.float32)
        meta[task] = {"kind": head.kind, "labels": list(head.labels)}
    path = heads_path(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    tmp.replace(path)
    return path


class HeadsMissing(RuntimeError):
    pass


def load_heads(mode: str) -> dict[str, Head]:
    path = heads_path(mode)
    if not path.is_file():
        raise HeadsMissing(f"no trained heads for mode {mode!r} at {path}; run `listening models train`")
    data = np.load(path)
    meta = json.loads(bytes(data["__meta__"]).decode())
    return {
        task: Head(
            task, m["kind"], tuple(m["labels"]), data[f"{task}.W"], data[f"{task}.b"], data[f"{task}.t"]
        )
        for task, m in meta.items()
    }
