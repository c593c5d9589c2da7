"""Label posts in several processes: each loads the pipeline once and takes chunks of posts in turn.

The pipeline is pure Python and NumPy around the encoder, so one process keeps one core busy at most;
with one process per core the cores overlap (the ``fast`` mode scales almost linearly; the default
mode's encoder already uses every core, so it starts workers only when asked to). Workers are
started with ``spawn`` (never ``fork`` a process that already runs ONNX Runtime or lingua threads),
live for the rest of the calling process, and split the cores between their encoder threads.
Small inputs, or a caller that may not start processes (a daemonic one), are labelled in-process.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from schemas.config import ProjectConfig

log = logging.getLogger(__name__)

MIN_POSTS = 5_000  # below this, starting workers (a few seconds each) costs more than it saves
CHUNK = 256

_pools: dict[tuple, ProcessPoolExecutor] = {}
_worker_nlp = None


def worker_count(config: ProjectConfig, posts: int) -> int:
    """How many processes label ``posts`` posts (1 = in the calling process)."""
    if config.nlp.workers:
        return config.nlp.workers
    if config.nlp.mode != "fast":
        # The encoder already spreads over every core; a second process measured +13% posts/s
        # (143 -> 161 on 2 cores) for ~1.9 GB more (lingua's models and the encoder, per process).
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if posts < MIN_POSTS or cores < 2 or multiprocessing.current_process().daemon:
        return 1
    return cores


def without_torch(config: ProjectConfig) -> None:
    """Keep PyTorch out of a process that only labels posts (call before spaCy is imported).

    The built-in pipeline runs on ONNX Runtime and NumPy; spaCy's thinc imports PyTorch only because it
    is installed (about 300-400 MB a process). Only user task models (``nlp.tasks``) need it.
    """
    if not config.nlp.tasks and "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` an ImportError
        os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] = "1"


def _init(config_json: str, base: str, mode: str, threads: int) -> None:
    global _worker_nlp
    config = ProjectConfig.model_validate_json(config_json)
    # Each worker has its share of the cores: ONNX Runtime, BLAS and the tokenizer stay within it.
    os.environ["LISTENING_ENCODER_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    os.environ["RAYON_NUM_THREADS"] = str(threads)  # lingua's thread pool
    without_torch(config)
    from threadpoolctl import threadpool_limits

    from nlp.pipeline import pipeline

    threadpool_limits(threads)

    _worker_nlp = pipeline(config, Path(base), mode)


def _label(texts: list[str], declared: list[str | None], author_brands: list[str | None]) -> dict[str, list]:
    from nlp.enrich import nlp_columns, process

    return nlp_columns(process(texts, declared, author_brands, _worker_nlp), author_brands)


def _pool(config: ProjectConfig, base: Path, mode: str, workers: int) -> ProcessPoolExecutor:
    key = (config.model_dump_json(), str(base), mode, workers)
    if key not in _pools:
        cores = os.cpu_count() or 1
        log.info("starting %d NLP worker processes (mode %s)", workers, mode)
        _pools[key] = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
            initargs=(key[0], key[1], mode, max(1, cores // workers)),
        )  # fmt: skip
    return _pools[key]


def label_parallel(config: ProjectConfig, base: Path, mode: str, workers: int, texts: list[str],
                   declared: list[str | None], author_brands: list[str | None]) -> dict[str, list]:  # fmt: skip
    """The NLP columns of ``texts``, computed by ``workers`` processes, in input order."""
    pool = _pool(config, base, mode, workers)
    spans = [(i, min(i + CHUNK, len(texts))) for i in range(0, len(texts), CHUNK)]
    out: dict[str, list] = {}
    try:
        parts = pool.map(_label, *zip(*[(texts[a:b], declared[a:b], author_brands[a:b]) for a, b in spans],
                                      strict=True))  # fmt: skip
        for part in parts:
            for name, values in part.items():
                out.setdefault(name, []).extend(values)
    except BrokenProcessPool as exc:
        # A worker died (out of memory, killed) or could not start (a script without the
        # ``if __name__ == "__main__":`` guard that spawned processes need): label here instead.
        log.warning("NLP worker processes failed (%s); labelling in this process", exc)
        _pools.pop(next(k for k, v in _pools.items() if v is pool), None)
        from nlp.enrich import nlp_columns, process
        from nlp.pipeline import pipeline

        nlp = pipeline(config, base, mode)
        return nlp_columns(process(texts, declared, author_brands, nlp), author_brands)
    return out


@atexit.register
def _shutdown() -> None:
    for pool in _pools.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _pools.clear()
