"""File import connector: CSV, JSONL and Parquet exports from other listening tools.

Reading never crashes on a bad row: a row that cannot be decoded or parsed becomes a quarantine
record with its reason and position, and the good rows go on. Problems that make the whole file
unusable (no such file, a mapped column the file does not have) fail loudly with a clear message.

Encodings: UTF-8 (with or without BOM) is expected. A file that is mostly UTF-8 with a few broken
rows keeps the good rows and quarantines the broken ones; a file in a legacy encoding (cp1250,
cp1251, latin-1, ...) is decoded with the detected encoding and a warning, unless one is forced.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIX_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip


class FileImportError(ValueError):
    """The file as a whole cannot be imported (the message says why and what to do)."""


@dataclass
class Record:
    """One row of the input: its fields, or the reason it could not be read."""

    index: int
    origin: str
    fields: dict | None = None
    error: str | None = None
    raw_text: str | None = None


@dataclass
class ReadResult:
    records: list[Record]
    columns: list[str]
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def good(self) -> list[Record]:
        return [r for r in self.records if r.error is None]

    @property
    def bad(self) -> list[Record]:
        return [r for r in self.records if r.error is not None]


def detect_format(path: Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        if fmt not in FORMATS:
            raise FileImportError(f"unknown format {fmt!r}; use one of {FORMATS}")
        return fmt
    try:
        return _SUFFIX_FORMATS[path.suffix.lower()]
    except KeyError:
        raise FileImportError(
            f"cannot tell the format of {path.name} from its suffix; pass --format csv|jsonl|parquet"
        ) from None


def _has_undecodable(text: str) -> bool:
    # Bytes that were not valid in the chosen encoding survive as lone surrogates (surrogateescape).
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _escaped(text: str) -> str:
    """Text with undecodable bytes written as \\xNN, safe to store and show."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# Single-byte legacy encodings of the languages we serve (Central European, Cyrillic, Western, Hebrew).
_LEGACY = ("cp1250", "cp1251", "cp1252", "iso8859_2", "iso8859_15", "cp1255", "koi8_r")
# The non-ASCII letters each language really uses: a right decoding stays inside one of these sets.
_ALPHABETS = {
    "pl": "ąćęłńóśźż", "sl": "čšžćđ", "is": "áéíóúýþæöð", "de": "äöüß", "fr": "àâçéèêëîïôûùüÿœæ",
    "es": "áéíóúñü¿¡", "cs": "áčďéěíňóřšťúůýž", "hu": "áéíóöőúüű",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "he": "אבגדהוזחטיכךלמםנןסעפףצץקרשת",
}  # fmt: skip


def _plausibility(text: str) -> int:
    """How much a decoding reads like one real language: its letters count, anything else counts against."""
    foreign = [ch for ch in text if ord(ch) > 127]
    if not foreign:
        return 0
    lowered = [ch.lower() for ch in foreign]
    best = max(sum(ch in alphabet for ch in lowered) for alphabet in _ALPHABETS.values())
    # Mojibake flips case inside words ("оПХБЕР"); real words rarely do.
    flips = sum(
        1 for a, b in zip(text, text[1:], strict=False) if a.islower() and b.isupper() and ord(b) > 127
    )
    # ... and puts Cyrillic or Hebrew letters inside Latin words ("trиs").
    mixed = sum(1 for a, b in zip(text, text[1:], strict=False) if _mixes_scripts(a, b))
    return 2 * best - len(foreign) - 2 * flips - 2 * mixed


def _mixes_scripts(a: str, b: str) -> bool:
    def non_latin(ch: str) -> bool:
        return "\u0400" <= ch <= "\u05ff"

    return (a.isascii() and a.isalpha() and non_latin(b)) or (b.isascii() and b.isalpha() and non_latin(a))


def guess_legacy_encoding(data: bytes) -> str:
    """The single-byte legacy encoding under which the bytes read most like one of our languages."""
    detected = [m.encoding for m in charset_normalizer.from_bytes(data) if m.encoding in _LEGACY]
    candidates = list(dict.fromkeys(detected + list(_LEGACY)))
    best, best_score = "cp1252", None
    for rank, encoding in enumerate(candidates):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = (_plausibility(text), -rank)  # ties go to the detector's order
        if best_score is None or score > best_score:
            best, best_score = encoding, score
    return best


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str, list[str]]:
    """Decode a whole text file; returns (text, encoding used, warnings)."""
    warnings: list[str] = []
    if encoding:
        try:
            return data.decode(encoding, errors="surrogateescape"), encoding, warnings
        except LookupError:
            raise FileImportError(f"unknown encoding {encoding!r}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        warnings.append(f"{name}: UTF-8 byte-order mark removed")
        label = "utf-8-sig"
    else:
        label = "utf-8"
    try:
        return data.decode("utf-8"), label, warnings
    except UnicodeDecodeError:
        pass
    # Not clean UTF-8. If most non-ASCII lines are UTF-8, the file is UTF-8 with a few damaged rows:
    # keep it UTF-8 and let the damaged rows be quarantined. Otherwise it is a legacy encoding.
    non_ascii = [line for line in data.splitlines() if any(b > 127 for b in line)]
    valid = 0
    for line in non_ascii:
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            pass
    if non_ascii and valid / len(non_ascii) >= 0.5:
        bad = len(non_ascii) - valid
        warnings.append(f"{name}: {bad} line(s) are not valid UTF-8; their rows are quarantined")
        return data.decode("utf-8", errors="surrogateescape"), label, warnings
    guessed = guess_legacy_encoding(data)
    warnings.append(
        f"{name}: not UTF-8; decoded as {guessed} (detected). Pass --encoding to override, "
        "and prefer UTF-8 exports."
    )
    return data.decode(guessed, errors="surrogateescape"), guessed, warnings


def _read_csv(path: Path, encoding: str | None) -> ReadResult:
    text, used, warnings = decode(path.read_bytes(), path.name, encoding)
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 20)[0] if sample else ",", delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[Record] = []
    try:
        header = next(reader)
    except StopIteration:
        return ReadResult([], [], used, warnings + [f"{path.name}: empty file"])
    header = [h.strip() for h in header]
    if _has_undecodable("".join(header)):
        raise FileImportError(f"{path.name}: the header row is not valid text in {used}; pass --encoding")
    index = 0
    while True:
        line_no = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            records.append(Record(index, f"{path.name}:{line_no}", error=f"CSV syntax error: {exc}"))
            index += 1
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        origin = f"{path.name}:{line_no}"
        raw_text = delimiter.join(row)
        if _has_undecodable(raw_text):
            records.append(
                Record(index, origin, error=f"invalid {used} bytes in the row", raw_text=_escaped(raw_text))
            )
        elif len(row) != len(header):
            records.append(
                Record(
                    index,
                    origin,
                    error=f"row has {len(row)} fields but the header has {len(header)}",
                    raw_text=raw_text,
                )
            )
        else:
            records.append(Record(index, origin, fields=dict(zip(header, row, strict=True))))
        index += 1
    return ReadResult(records, header, used, warnings)


def _read_jsonl(path: Path, encoding: str | None) -> ReadResult:
    text, used, warnings = decode(path.read_bytes(), path.name, encoding)
    stripped = text.lstrip()
    if stripped.startswith("["):
        # A JSON array of objects (some tools export that instead of JSON lines).
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise FileImportError(f"{path.name}: looks like a JSON array but does not parse: {exc}") from None
        lines = [(i + 1, json.dumps(item, ensure_ascii=False)) for i, item in enumerate(items)]
    else:
        lines = list(enumerate(text.splitlines(), start=1))
    records: list[Record] = []
    columns: dict[str, None] = {}
    index = 0
    for line_no, line in lines:
        if not line.strip():
            continue
        origin = f"{path.name}:{line_no}"
        if _has_undecodable(line):
            records.append(
                Record(index, origin, error=f"invalid {used} bytes in the line", raw_text=_escaped(line))
            )
        else:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                records.append(Record(index, origin, error=f"invalid JSON: {exc.msg}", raw_text=line))
            else:
                if isinstance(value, dict):
                    columns.update(dict.fromkeys(value))
                    records.append(Record(index, origin, fields=value))
                else:
                    records.append(
                        Record(
                            index,
                            origin,
                            error=f"expected a JSON object, got {type(value).__name__}",
                            raw_text=line,
                        )
                    )
        index += 1
    return ReadResult(records, list(columns), used, warnings)


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _read_parquet(path: Path) -> ReadResult:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise FileImportError(f"{path.name}: not a readable Parquet file: {exc}") from None
    records = [
        Record(i, f"{path.name}:row {i}", fields={k: _jsonable(v) for k, v in row.items()})
        for i, row in enumerate(table.to_pylist())
    ]
    return ReadResult(records, table.column_names, "parquet")


def read_file(path: str | Path, fmt: str = "auto", encoding: str | None = None) -> ReadResult:
    """Read an export into records; bad rows come back as records with an ``error``."""
    path = Path(path)
    if not path.is_file():
        raise FileImportError(f"no such file: {path}")
    kind = detect_format(path, fmt)
    if kind == "csv":
        result = _read_csv(path, encoding)
    elif kind == "jsonl":
        result = _read_jsonl(path, encoding)
    else:
        result = _read_parquet(path)
    for warning in result.warnings:
        log.warning(warning)
    return result


def check_mapping(result: ReadResult, mapping: dict[str, str], path: Path) -> None:
    """Fail loudly when a mapped column appears nowhere in the file."""
    if not result.good:
        return
    present = set(result.columns)
    missing = {target: column for target, column in mapping.items() if column not in present}
    if missing:
        pairs = ", ".join(f"{target}={column!r}" for target, column in sorted(missing.items()))
        raise FileImportError(
            f"{path.name}: mapped column(s) not in the file: {pairs}. "
            f"The file has columns: {', '.join(repr(c) for c in result.columns)}"
        )
