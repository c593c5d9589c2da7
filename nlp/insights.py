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
from nlp.models import ModelUnavailable, require_models
from nlp.taxonomy import load_lexicon, load_training_examples
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
    clauses: list[tuple[int, int]] | None = None  # computed from text and language when None


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


def _words(offsets: np.ndarray, text: str) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Merge sub-word tokens into words (tokens that touch).

    Returns the word spans, the indices of the tokens that carry text, and for each word the position
    (among those tokens) of its first token, ready for ``np.add.reduceat``.
    """
    spans: list[list[int]] = []
    used: list[int] = []
    firsts: list[int] = []
    for j, (start, end) in enumerate(offsets.tolist()):
        if start >= end:
            continue
        if spans and start <= spans[-1][1] and not text[spans[-1][1] - 1 : start + 1].isspace():
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
            firsts.append(len(used))
        used.append(j)
    for span in spans:  # the tokenizer's span of a word-initial piece includes the leading space
        while span[0] < span[1] and text[span[0]].isspace():
            span[0] += 1
    return [(a, b) for a, b in spans], np.array(used, dtype=np.int64), np.array(firsts, dtype=np.int64)


class Explainer:
    """Evidence spans for one post: words and clauses are found once, every label is one column.

    For a label with weight vector ``w`` the evidence is the clause whose words contribute most to
    ``w``, trimmed to the contiguous run of words with the largest lift over the post's median word
    (at most ``MAX_EVIDENCE_WORDS`` words). Words inside ``ignore`` spans (URLs, @mentions) never count.
    """

    def __init__(self, text: str, language: str, offsets: np.ndarray, tokens: np.ndarray,
                 ignore: list[tuple[int, int]] = (), spans: list[tuple[int, int]] | None = None):  # fmt: skip
        self.words, self._used, self._firsts = _words(offsets, text)
        self._tokens = tokens
        self.keep = np.array(
            [i for i, (a, b) in enumerate(self.words) if not any(a < e and b > s for s, e in ignore)],
            dtype=np.int64,
        )
        groups = []
        if len(self.keep):
            starts = np.array([self.words[i][0] for i in self.keep])
            ends = np.array([self.words[i][1] for i in self.keep])
            for a, b in spans if spans is not None else clauses(text, language):
                members = self.keep[(starts >= a) & (ends <= b)]
                if len(members):
                    groups.append(members)
        self._groups = groups

    def spans(self, weights: np.ndarray) -> list[tuple[int, int] | None]:
        """One evidence span (or None) per row of ``weights`` (labels x DIM)."""
        weights = np.atleast_2d(weights)
        if not len(self.keep):
            return [None] * len(weights)
        contributions = self._tokens[self._used] @ weights.T  # (used tokens, labels)
        scores = np.add.reduceat(contributions, self._firsts, axis=0)  # (words, labels)
        medians = np.median(scores[self.keep], axis=0).tolist()
        if self._groups:
            totals = np.array([scores[g].sum(axis=0) for g in self._groups])  # (clauses, labels)
            chosen = [self._groups[g].tolist() for g in totals.argmax(axis=0)]
        else:
            chosen = [self.keep.tolist()] * len(weights)
        columns = scores.T.tolist()
        return [self._trim(columns[k], chosen[k], medians[k]) for k in range(len(weights))]

    def _trim(self, scores: list[float], members: list[int], median: float) -> tuple[int, int]:
        values = [scores[m] - median for m in members]
        # Kadane: the contiguous run of words with the largest total lift, capped in length.
        top = max(range(len(values)), key=values.__getitem__)
        best = (members[top], members[top])
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
            window = np.convolve(scores[first : last + 1], np.ones(MAX_EVIDENCE_WORDS), mode="valid")
            first = first + int(np.argmax(window))
            last = first + MAX_EVIDENCE_WORDS - 1
        return self.words[first][0], self.words[last][1]


def evidence_span(text: str, language: str, offsets: np.ndarray, contributions: np.ndarray,
                  ignore: list[tuple[int, int]] = ()) -> tuple[int, int] | None:  # fmt: skip
    """The span that carries a label, from per-token contributions (see :class:`Explainer`)."""
    tokens = np.asarray(contributions, dtype=np.float64).reshape(-1, 1)
    return Explainer(text, language, np.asarray(offsets), tokens, ignore).spans(np.ones((1, 1)))[0]


def _noise_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in URL_RE.finditer(text)] + [m.span() for m in MENTION_RE.finditer(text)]


class Analyzer:
    """Loads the encoder and heads once; ``analyze`` labels a batch of items."""

    def __init__(self, config: ProjectConfig, base: Path, mode: str | None = None):
        self.config = config
        self.mode = mode or config.nlp.mode
        runtime = require_models(config, base)
        self.encoder = make_encoder(runtime, self.mode, config.nlp.max_tokens, config.nlp.batch_size)
        self.heads: dict[str, Head] = load_heads(self.mode)
        self.extra = {
            "pain_points": self._prototype_head("pain_points", config.nlp.extra_pain_points),
            "motives": self._prototype_head("motives", config.nlp.extra_motives),
        }
        self.overrides = {
            task: _TaskModel(spec.model, spec.labels) for task, spec in config.nlp.tasks.items()
        }
        # Single-label evidence explains the chosen label against the mean of the others.
        self._others = {
            task: np.array([np.delete(self.heads[task].weights, k, axis=0).mean(axis=0)
                            for k in range(len(self.heads[task].labels))])
            for task in SINGLE_TASKS
        }  # fmt: skip

    def _prototype_head(self, task: str, extra: list[ExtraCategory]) -> Head | None:
        """User categories: cosine to the mean of their examples (around the centre of ordinary posts).

        The threshold sits halfway between how unrelated posts score (the 95th percentile of a fixed
        sample of the training posts) and the lowest-scoring example of the category itself.
        """
        if not extra:
            return None
        clash = [c.id for c in extra if c.id in self.heads[task].labels]
        if clash:
            raise ValueError(f"nlp.extra_{task}: {clash} already exist in the built-in taxonomy")
        examples = load_training_examples()
        background = self.encoder.encode([e["text"] for e in examples[:: max(1, len(examples) // 64)]]).pooled
        # Similarities are taken around the centre of ordinary posts (sentence vectors share a common
        # direction, the static ones of the fast mode strongly so).
        self._centre = background.mean(axis=0)
        background = self._centred(background)
        weights, thresholds = [], []
        for category in extra:
            vectors = self._centred(
                self.encoder.encode([f"{category.description}", *category.examples]).pooled
            )
            prototype = vectors.mean(axis=0)
            prototype /= np.linalg.norm(prototype)
            own = float((vectors @ prototype).min())
            unrelated = float(np.quantile(background @ prototype, 0.95))
            weights.append(prototype)
            thresholds.append((own + unrelated) / 2 if own > unrelated else own)
        labels = tuple(c.id for c in extra)
        return Head(task, "cosine", labels, np.array(weights), np.zeros(len(labels)), np.array(thresholds))

    def _centred(self, vectors: np.ndarray) -> np.ndarray:
        shifted = np.atleast_2d(vectors) - self._centre
        return shifted / np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-9)

    def analyze(self, items: list[Item]) -> list[dict]:
        return self.finish(items, self.encode(items))

    def encode(self, items: list[Item]) -> tuple[Encoded, dict[str, np.ndarray]]:
        """The encoder's vectors and every head's probabilities (the heavy, GIL-releasing part)."""
        texts = [it.text or "" for it in items]
        encoded = self.encoder.encode(texts)
        probs = {task: head.probabilities(encoded.pooled) for task, head in self.heads.items()}
        for task, model in self.overrides.items():
            probs[task] = model.probabilities(texts, self.heads[task].labels)
        return encoded, probs

    def finish(self, items: list[Item], prepared: tuple[Encoded, dict[str, np.ndarray]]) -> list[dict]:
        """One row of labels and evidence per item, from :meth:`encode`'s output."""
        encoded, probs = prepared
        opinions = self._compare(items)
        return [self._row(i, item, encoded, probs, opinions.get(i, {})) for i, item in enumerate(items)]

    # -- one post -------------------------------------------------------------------------------------

    def _row(self, i: int, item: Item, encoded: Encoded, probs: dict[str, np.ndarray],
             opinions: dict[str, dict]) -> dict:  # fmt: skip
        text = item.text or ""
        row: dict = {"text_truncated": bool(encoded.truncated[i])}
        if not text.strip() or (not has_words(text) and not has_symbols(text)):
            return row | _empty_labels("empty text" if not text.strip() else "only links or mentions")
        asks: list[tuple[np.ndarray, dict]] = []  # (label weights, the row its evidence goes into)
        if not has_words(text):
            # Emoji-only: tone from the encoder, but no topic labels can be read from it.
            tone, evidence = self._tone(i, probs, None)
            row |= tone | {"label_evidence": evidence}
            return row | {"intents": [], "pain_points": [], "motives": [], "brand_sentiments":
                          _brand_sentiments(item, row, opinions), "switch_from": [], "switch_to": []}  # fmt: skip
        tone, evidence = self._tone(i, probs, asks)
        row |= tone
        intents = self._multi(i, encoded, probs, "intents", asks)
        row["pain_points"] = self._multi(i, encoded, probs, "pain_points", asks)
        row["motives"] = self._multi(i, encoded, probs, "motives", asks)
        self._explain(item, encoded, i, asks)
        row["intents"] = [x["id"] for x in intents]
        evidence += [_evidence_row("intents", x["id"], x["score"], x["evidence"], x["start"], x["end"])
                     for x in intents]  # fmt: skip
        row["label_evidence"] = evidence
        row["brand_sentiments"] = _brand_sentiments(item, row, opinions)
        row["switch_from"], row["switch_to"] = self._switching(item, row)
        return row

    def _explain(self, item: Item, encoded: Encoded, i: int, asks: list[tuple[np.ndarray, dict]]) -> None:
        """Fill the evidence of every label of one post (one pass over its words and clauses)."""
        if not asks:
            return
        explainer = Explainer(item.text, item.language, encoded.offsets[i], encoded.tokens[i],
                              _noise_spans(item.text), item.clauses)  # fmt: skip
        for (_, target), span in zip(asks, explainer.spans(np.stack([w for w, _ in asks])), strict=True):
            if span is not None:
                target.update(evidence=item.text[span[0] : span[1]], start=span[0], end=span[1])

    def _tone(self, i: int, probs: dict[str, np.ndarray],
              asks: list[tuple[np.ndarray, dict]] | None) -> tuple[dict, list[dict]]:  # fmt: skip
        """Sentiment, emotion, formality and sarcasm; their evidence is asked for unless ``asks`` is None."""
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
            elif asks is not None:
                evidence.append(_evidence_row(task, head.labels[k], float(p[k]), None))
                asks.append((head.weights[k] - self._others[task][k], evidence[-1]))
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
        if asks is not None and sarcastic:
            evidence.append(_evidence_row("sarcasm", "sarcasm", p_sarcasm, None))
            asks.append((self.heads["sarcasm"].weights[0], evidence[-1]))
        if asks is None:
            evidence.append(_evidence_row("sentiment", row["sentiment_label"], row["sentiment_confidence"],
                                          "emoji only"))  # fmt: skip
        return row, evidence

    def _multi(self, i: int, encoded: Encoded, probs: dict[str, np.ndarray], task: str,
               asks: list[tuple[np.ndarray, dict]]) -> list[dict]:  # fmt: skip
        head = self.heads[task]
        found = []
        for k in np.flatnonzero(probs[task][i] >= head.thresholds):
            found.append({"id": head.labels[k], "score": float(probs[task][i][k]), "evidence": None,
                          "start": None, "end": None})  # fmt: skip
            asks.append((head.weights[k], found[-1]))
        extra = self.extra.get(task)
        if extra is not None:
            sims = extra.weights @ self._centred(encoded.pooled[i])[0]
            for k in np.flatnonzero(sims >= extra.thresholds):
                found.append({"id": extra.labels[k], "score": float(sims[k]), "evidence": None, "start": None,
                              "end": None})  # fmt: skip
                asks.append((extra.weights[k], found[-1]))
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
            spans = item.clauses if item.clauses is not None else clauses(item.text, item.language)
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
