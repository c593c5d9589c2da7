"""Text -> vectors, with per-token contributions kept for explanations.

Two encoders share one output (:class:`Encoded`):

* :class:`TransformerEncoder` (``default`` mode): the int8 ONNX export of the sentence encoder,
  mean-pooled and L2-normalised like sentence-transformers does for e5. Batches are sorted by length
  so little time goes into padding.
* :class:`StaticEncoder` (``fast`` mode): a SIF-weighted average of per-piece static vectors distilled
  from the same encoder; no transformer runs.

Because pooling is a (weighted) mean followed by a scale, a linear head's logit splits exactly into
one term per token plus a constant. ``Encoded.tokens`` holds each content token's vector already
divided by that scale, so ``tokens @ W.T`` are the per-token contributions the explanations use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from nlp.models import ONNX_FILE, PREFIX, STATIC_FILE, STATIC_WEIGHTS_FILE

DIM = 384


@dataclass
class Encoded:
    pooled: np.ndarray  # (n, DIM), unit length
    tokens: list[np.ndarray]  # per text (k, DIM): content-token vectors / pooling scale
    offsets: list[np.ndarray]  # per text (k, 2): character span of each content token in the text
    truncated: np.ndarray  # (n,) bool


@cache
def load_tokenizer(runtime: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(runtime)


@cache
def load_session(runtime: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 8))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(runtime / ONNX_FILE), options, providers=["CPUExecutionProvider"])


def _tokenize(tokenizer, texts: list[str], prefix: str, max_tokens: int):
    enc = tokenizer([prefix + t for t in texts], add_special_tokens=True, truncation=True,
                    max_length=max_tokens, return_offsets_mapping=True, return_overflowing_tokens=False,
                    return_length=False)  # fmt: skip
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    truncated = np.array(
        [
            len(i) >= max_tokens and o[-2][1] < len(prefix) + len(t.rstrip())
            for i, o, t in zip(ids, offsets, texts, strict=False)
        ],
        dtype=bool,
    )
    return ids, offsets, truncated


def _content(ids: list[int], offsets: list[tuple[int, int]], prefix_len: int, special: set[int]):
    """Indices of tokens that come from the text itself, and their spans in the un-prefixed text."""
    keep, spans = [], []
    for j, (token, (start, end)) in enumerate(zip(ids, offsets, strict=False)):
        if token in special or end <= prefix_len:
            continue
        keep.append(j)
        spans.append((max(start, prefix_len) - prefix_len, end - prefix_len))
    return np.array(keep, dtype=np.int64), np.array(spans, dtype=np.int32).reshape(-1, 2)


class TransformerEncoder:
    def __init__(self, runtime: Path, max_tokens: int = 256, batch_size: int = 32):
        self.tokenizer = load_tokenizer(runtime)
        self.session = load_session(runtime)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.special = set(self.tokenizer.all_special_ids)
        self.pad = self.tokenizer.pad_token_id

    def encode(self, texts: list[str]) -> Encoded:
        n = len(texts)
        ids, offsets, truncated = _tokenize(self.tokenizer, texts, PREFIX, self.max_tokens)
        pooled = np.zeros((n, DIM), dtype=np.float32)
        tokens: list[np.ndarray] = [np.zeros((0, DIM), np.float32)] * n
        spans: list[np.ndarray] = [np.zeros((0, 2), np.int32)] * n
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.full((len(rows), width), self.pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            hidden = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            for r, i in enumerate(rows):
                length = len(ids[i])
                h = hidden[r, :length]
                total = h.sum(axis=0)
                scale = float(np.linalg.norm(total)) or 1.0
                pooled[i] = total / scale
                keep, spans[i] = _content(ids[i], offsets[i], len(PREFIX), self.special)
                tokens[i] = h[keep] / scale
        return Encoded(pooled, tokens, spans, truncated)


class StaticEncoder:
    def __init__(self, runtime: Path, max_tokens: int = 256):
        self.tokenizer = load_tokenizer(runtime)
        self.vectors = _static_vectors(runtime)
        self.weights = np.load(runtime / STATIC_WEIGHTS_FILE)
        self.max_tokens = max_tokens
        self.special = set(self.tokenizer.all_special_ids)

    def encode(self, texts: list[str]) -> Encoded:
        n = len(texts)
        ids, offsets, truncated = _tokenize(self.tokenizer, texts, "", self.max_tokens)
        pooled = np.zeros((n, DIM), dtype=np.float32)
        tokens, spans = [], []
        for i in range(n):
            keep, span = _content(ids[i], offsets[i], 0, self.special)
            token_ids = np.asarray(ids[i], dtype=np.int64)[keep]
            weighted = self.vectors[token_ids].astype(np.float32) * self.weights[token_ids, None]
            total = weighted.sum(axis=0)
            scale = float(np.linalg.norm(total)) or 1.0
            pooled[i] = total / scale
            tokens.append(weighted / scale)
            spans.append(span)
        return Encoded(pooled, tokens, spans, truncated)


@cache
def _static_vectors(runtime: Path) -> np.ndarray:
    return np.load(runtime / STATIC_FILE, mmap_mode="r")


def make_encoder(runtime: Path, mode: str, max_tokens: int = 256, batch_size: int = 32):
    """The encoder a mode runs on: the int8 transformer (``default``) or static vectors (``fast``)."""
    if mode == "fast":
        return StaticEncoder(runtime, max_tokens)
    return TransformerEncoder(runtime, max_tokens, batch_size)
