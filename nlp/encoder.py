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

import json
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
    threads = int(os.environ.get("LISTENING_ENCODER_THREADS") or min(os.cpu_count() or 1, 8))
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # The arena stays on: it keeps the largest batch's buffers for the life of the process (~110 MB
    # more on 4,000 posts), but without it every operator's output is a fresh malloc, glibc's heap
    # fragments, and over 16,000 posts the process peaked higher (2.09 GB against 1.83 GB, same speed).
    options.enable_cpu_mem_arena = True
    return ort.InferenceSession(str(runtime / ONNX_FILE), options, providers=["CPUExecutionProvider"])


@cache
def _fast_tokenizer(runtime: Path, max_tokens: int):
    """The tokenizer's Rust core, truncating at ``max_tokens`` (the transformers wrapper costs ~60 us a text).

    Only this one tokenizer is loaded per process: a 250k-piece vocabulary costs about 300 MB in each
    instance, so the special and padding ids come from it too (:func:`token_ids`), not from transformers.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(runtime / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


@cache
def token_ids(runtime: Path, max_tokens: int) -> tuple[list[int], int]:
    """(sorted special-token ids, padding id) of the runtime tokenizer.

    The padding id is the one transformers saved with the tokenizer (``tokenizer_config.json``
    ``pad_token``), else ``<pad>``, else 0 (padded positions are masked, so any id serves).
    """
    tokenizer = _fast_tokenizer(runtime, max_tokens)
    special = sorted(i for i, token in tokenizer.get_added_tokens_decoder().items() if token.special)
    config = runtime / "tokenizer_config.json"
    pad_token = json.loads(config.read_text(encoding="utf-8")).get("pad_token") if config.is_file() else None
    if isinstance(pad_token, dict):  # older transformers save AddedToken dicts
        pad_token = pad_token.get("content")
    pad = tokenizer.token_to_id(pad_token or "<pad>")
    return special, 0 if pad is None else pad


def _tokenize(runtime: Path, texts: list[str], prefix: str, max_tokens: int):
    encodings = _fast_tokenizer(runtime, max_tokens).encode_batch([prefix + t for t in texts])
    ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
    offsets = [np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2) for e in encodings]
    truncated = np.array(
        [
            len(i) >= max_tokens and o[-2][1] < len(prefix) + len(t.rstrip())
            for i, o, t in zip(ids, offsets, texts, strict=False)
        ],
        dtype=bool,
    )
    return ids, offsets, truncated


def _content(ids: np.ndarray, offsets: np.ndarray, prefix_len: int, special: list[int]):
    """Indices of tokens that come from the text itself, and their spans in the un-prefixed text."""
    mask = offsets[:, 1] > prefix_len
    for token in special:  # a handful of ids: cheaper than np.isin
        mask &= ids != token
    keep = np.flatnonzero(mask)
    spans = np.maximum(offsets[keep], prefix_len) - prefix_len
    return keep, spans.astype(np.int32)


# Padded tokens per encoder batch at most: attention holds batch x 12 heads x width^2 floats, and ONNX
# Runtime's arena (when on) keeps its largest allocation: 32 posts of 256 tokens would pin ~1 GB.
MAX_BATCH_TOKENS = 4096


def _batches(order: np.ndarray, lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Consecutive runs of ``order`` (ascending length) of at most ``batch_size`` rows and
    ``MAX_BATCH_TOKENS`` padded tokens (a single longer post is a batch of its own)."""
    out, start = [], 0
    for end in range(1, len(order) + 1):
        full = end - start > batch_size or (end - start) * lengths[order[end - 1]] > MAX_BATCH_TOKENS
        if full and end - 1 > start:
            out.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        out.append(order[start:])
    return out


class TransformerEncoder:
    releases_gil = True  # its time goes to ONNX Runtime and the Rust tokenizer

    def __init__(self, runtime: Path, max_tokens: int = 256, batch_size: int = 32):
        self.session = load_session(runtime)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.runtime = runtime
        self.special, self.pad = token_ids(runtime, max_tokens)

    def encode(self, texts: list[str]) -> Encoded:
        n = len(texts)
        ids, offsets, truncated = _tokenize(self.runtime, texts, PREFIX, self.max_tokens)
        pooled = np.zeros((n, DIM), dtype=np.float32)
        tokens: list[np.ndarray] = [np.zeros((0, DIM), np.float32)] * n
        spans: list[np.ndarray] = [np.zeros((0, 2), np.int32)] * n
        order = np.argsort([len(x) for x in ids], kind="stable")
        for rows in _batches(order, [len(x) for x in ids], self.batch_size):
            width = len(ids[rows[-1]])
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
    releases_gil = False  # numpy gathers and sums on small arrays, mostly under the GIL

    def __init__(self, runtime: Path, max_tokens: int = 256):
        self.vectors = _static_vectors(runtime)
        self.weights = np.load(runtime / STATIC_WEIGHTS_FILE)
        self.max_tokens = max_tokens
        self.runtime = runtime
        self.special, _ = token_ids(runtime, max_tokens)

    def encode(self, texts: list[str]) -> Encoded:
        n = len(texts)
        ids, offsets, truncated = _tokenize(self.runtime, texts, "", self.max_tokens)
        content = [_content(ids[i], offsets[i], 0, self.special) for i in range(n)]
        token_ids = [ids[i][keep] for i, (keep, _) in enumerate(content)]
        lengths = np.array([len(t) for t in token_ids])
        flat = np.concatenate(token_ids) if n else np.zeros(0, dtype=np.int64)
        weighted = self.vectors[flat].astype(np.float32) * self.weights[flat, None]  # one gather per batch
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        totals = np.zeros((n, DIM), dtype=np.float32)
        filled = lengths > 0
        if filled.any():
            totals[filled] = np.add.reduceat(weighted, bounds[:-1][filled], axis=0)
        scales = np.linalg.norm(totals, axis=1)
        scales[scales == 0] = 1.0
        pooled = totals / scales[:, None]
        tokens = [weighted[bounds[i] : bounds[i + 1]] / scales[i] for i in range(n)]
        return Encoded(pooled, tokens, [span for _, span in content], truncated)


@cache
def _static_vectors(runtime: Path) -> np.ndarray:
    # Mapped, not read: pages are shared between worker processes; a plain ndarray view indexes faster.
    return np.asarray(np.load(runtime / STATIC_FILE, mmap_mode="r"))


def make_encoder(runtime: Path, mode: str, max_tokens: int = 256, batch_size: int = 32):
    """The encoder a mode runs on: the int8 transformer (``default``) or static vectors (``fast``)."""
    if mode == "fast":
        return StaticEncoder(runtime, max_tokens)
    return TransformerEncoder(runtime, max_tokens, batch_size)
