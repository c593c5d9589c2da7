"""``listening analyze``: the NLP on any CSV/JSONL/Parquet file, streamed in batches.

Analysts get exports from other tools; this labels them without ingesting them: language, brands,
tone, intents, pain points, motives and evidence are appended to the input columns and written to a
Parquet file (atomically: a temporary file renamed at the end). Memory stays flat: the input is
read ``batch_rows`` at a time and each batch is written before the next is read.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from nlp.enrich import label_texts
from nlp.models import require_models
from nlp.parallel import worker_count
from pipelines.connectors.file_import import detect_format
from pipelines.project import Project
from schemas.config import ConfigError, load_config
from schemas.tables import ENRICHED_POSTS, POSTS

log = logging.getLogger(__name__)

NLP_OUTPUT = [name for name in ENRICHED_POSTS.schema.names if name not in POSTS.schema.names
              and name not in ("nlp_version", "enriched_at", "credibility_flags", "is_likely_bot")]  # fmt: skip


def read_batches(path: Path, fmt: str, batch_rows: int) -> Iterator[pa.Table]:
    """Yield the input as tables of at most ``batch_rows`` rows, every column read as given."""
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    kind = detect_format(path, fmt)
    if kind == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
            yield pa.Table.from_batches([batch])
    elif kind == "csv":
        import pyarrow.csv as pacsv

        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline()
        delimiter = "\t" if header.count("\t") > header.count(",") else ","
        names = next(csv.reader([header], delimiter=delimiter))
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
        for batch in reader:
            table = pa.Table.from_batches([batch])
            for start in range(0, table.num_rows, batch_rows):
                yield table.slice(start, batch_rows)
    else:
        import pandas as pd

        for frame in pd.read_json(path, lines=True, chunksize=batch_rows, dtype=False):
            yield pa.Table.from_pandas(frame, preserve_index=False)


def _estimated_rows(path: Path, fmt: str) -> int:
    """Rows in the input: exact for Parquet, about one per 100 bytes for text formats."""
    if path.is_file() and detect_format(path, fmt) == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    return path.stat().st_size // 100 if path.is_file() else 0


def analyze_file(project: Project, input_path: Path, output: Path, text_column: str,
                 id_column: str | None = None, brand_config: Path | None = None, fmt: str = "auto",
                 batch_rows: int = 8192, progress: bool = True, mode: str | None = None,
                 workers: int | None = None) -> dict:  # fmt: skip
    """Label every row of ``input_path``; returns counts and where the output went."""
    config = project.config
    if mode:
        config = config.model_copy(update={"nlp": config.nlp.model_copy(update={"mode": mode})})
    if workers is not None:
        config = config.model_copy(update={"nlp": config.nlp.model_copy(update={"workers": workers})})
    if brand_config is not None:
        brands = load_config(brand_config)
        config = config.model_copy(update={"brands": brands.brands, "languages": brands.languages})
    workers = worker_count(config, _estimated_rows(input_path, fmt))
    if workers > 1:
        require_models(config, project.base_dir)  # fail before reading anything; workers load the models
    else:
        from nlp.pipeline import pipeline  # only here: with workers, this process never loads spaCy

        pipeline(config, project.base_dir)
    schema = ENRICHED_POSTS.with_metadata()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    writer = None
    rows = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit=" posts", desc=f"analyze {input_path.name}")
    try:
        for table in read_batches(input_path, fmt, batch_rows):
            if text_column not in table.column_names:
                raise ConfigError(f"--text-column {text_column!r} is not in {input_path.name} "
                                  f"(columns: {table.column_names})")  # fmt: skip
            if id_column and id_column not in table.column_names:
                raise ConfigError(f"--id-column {id_column!r} is not in {input_path.name}")
            texts = [t if isinstance(t, str) else ("" if t is None else str(t))
                     for t in table.column(text_column).to_pylist()]  # fmt: skip
            none = [None] * len(texts)
            columns = label_texts(config, project.base_dir, texts, none, none, workers)
            out = table
            for name in NLP_OUTPUT:
                field = schema.field(name)
                name_out = name if name not in table.column_names else f"nlp_{name}"
                values = columns[name] if name != "text_truncated" else [bool(v) for v in columns[name]]
                out = out.append_column(pa.field(name_out, field.type), pa.array(values, type=field.type))
            if writer is None:
                meta = {b"listening.analyze": json.dumps({"input": str(input_path), "text_column": text_column,
                                                          "id_column": id_column, "mode": config.nlp.mode}).encode()}  # fmt: skip
                writer = pq.ParquetWriter(tmp, out.schema.with_metadata(meta))
            writer.write_table(out.cast(writer.schema))
            rows += out.num_rows
            if bar is not None:
                bar.update(out.num_rows)
        if writer is None:
            raise ValueError(f"{input_path} holds no rows")
        writer.close()
        tmp.replace(output)
    finally:
        if bar is not None:
            bar.close()
        if tmp.exists():
            tmp.unlink()
    return {"input": str(input_path), "output": str(output), "rows": rows, "mode": config.nlp.mode}
