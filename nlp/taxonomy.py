"""Taxonomies as data: pain points, motives and intents with definitions and multilingual examples.

The fixed categories live in ``nlp/taxonomy/*.yaml``; the labelled posts that teach the heads live in
``nlp/data/train/<lang>.yaml``; the multilingual cue lexicon in ``nlp/data/lexicon.yaml``. A project
can add pain-point or motive categories in its config (``nlp.extra_pain_points``); those are scored by
similarity to their examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

TAXONOMY_DIR = Path(__file__).with_name("taxonomy")
DATA_DIR = Path(__file__).with_name("data")
TRAIN_DIR = DATA_DIR / "train"
TONE_DIR = DATA_DIR / "tone"  # general-domain posts labelled for tone only


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    description: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    kind: str
    categories: tuple[Category, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)

    def label(self, category_id: str) -> str:
        return next((c.label for c in self.categories if c.id == category_id), category_id)


@cache
def load_taxonomy(kind: str) -> Taxonomy:
    data = yaml.safe_load((TAXONOMY_DIR / f"{kind}.yaml").read_text(encoding="utf-8"))
    cats = tuple(
        Category(c["id"], c.get("label", c["id"]), c["description"], tuple(c.get("examples", ())))
        for c in data["categories"]
    )
    return Taxonomy(data["kind"], cats)


@cache
def load_lexicon() -> dict[str, dict[str, tuple[str, ...]]]:
    data = yaml.safe_load((DATA_DIR / "lexicon.yaml").read_text(encoding="utf-8"))
    return {lang: {k: tuple(v) for k, v in entry.items()} for lang, entry in data.items()}


def load_training_examples(directory: Path = TRAIN_DIR) -> list[dict]:
    """Every labelled training post, with its language."""
    examples = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["examples"]:
            examples.append({**item, "language": data["language"]})
    return examples
