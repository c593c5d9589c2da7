"""The file import connector: broken rows are quarantined with reasons, good rows are kept."""

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.connectors.file_import import FileImportError, read_file
from pipelines.ingest import FileSpec, import_file
from pipelines.status import quarantine_reasons

MAPPING = {"native_id": "id", "text": "message", "created_at": "date", "author": "user", "likes": "likes"}

HEADER = b"id,message,date,user,likes\n"
GOOD = [
    "1,Kvik spóźniony znowu 😤,2026-09-01 10:00,ania,3\n",
    '2,"Korvo, dzięki! szybko",2026-09-01T12:30:00+02:00,tomek,1k\n',
    "3,Зеста топ,01.09.2026 18:15,masha,\n",
]
BROKEN = [
    b"4,Mercato?,not a date,ola,2\n",  # bad date
    b"5,,2026-09-02 09:00,kuba,0\n",  # missing text
    b"6,Zesta \xff\xfe broken bytes,2026-09-02 10:00,ewa,1\n",  # invalid UTF-8
    b"7,too,many,columns,here,2\n",  # wrong number of columns
    b"8,from the future,2031-01-01 10:00,jan,1\n",  # implausible date
]


def broken_csv(path):
    path.write_bytes(HEADER + b"".join(line.encode() for line in GOOD) + b"".join(BROKEN))
    return path


def posts_of(project):
    files = project.storage.glob("posts/date=*/source=*/posts.parquet")
    return duckdb.execute(
        f"SELECT native_id, text, created_at, likes, author_id FROM read_parquet({files!r}) ORDER BY native_id"
    ).fetchall()


def test_broken_file_keeps_good_rows_and_quarantines_bad_ones(tmp_path, project_factory):
    project = project_factory(timezone="Europe/Warsaw")
    result = import_file(
        project,
        broken_csv(tmp_path / "export.csv"),
        FileSpec("legacy_tool", MAPPING, timezone="Europe/Warsaw"),
    )
    assert result["posts"] == 3
    assert result["quarantined"] == 5
    rows = posts_of(project)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    # Naive local time (Europe/Warsaw, CEST) -> UTC; explicit offsets respected; day-first dotted dates.
    assert rows[0][2] == dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
    assert rows[1][2] == dt.datetime(2026, 9, 1, 10, 30, tzinfo=dt.UTC)
    assert rows[2][2] == dt.datetime(2026, 9, 1, 16, 15, tzinfo=dt.UTC)
    assert rows[1][3] == 1000  # "1k"
    assert rows[0][4].startswith("a_") and "ania" not in rows[0][4]  # pseudonymised

    reasons = {r["origin"]: r["reason"] for r in quarantine_reasons(project)}
    assert reasons["export.csv:5"] == "created_at: cannot parse 'not a date' as a date/time"
    assert reasons["export.csv:6"] == "text: missing or empty (column 'message')"
    assert reasons["export.csv:7"] == "invalid utf-8 bytes in the row"
    assert reasons["export.csv:8"] == "row has 6 fields but the header has 5"
    assert reasons["export.csv:9"].startswith("created_at: 2031-01-01T09:00:00+00:00 is in the future")
    # The record is kept, undecodable bytes escaped, so nothing is lost.
    records = duckdb.execute(
        f"SELECT record FROM read_parquet({project.storage.glob('quarantine/**/*.parquet')!r}) WHERE record LIKE '%broken%'"
    ).fetchall()
    assert records == [("6,Zesta \\xff\\xfe broken bytes,2026-09-02 10:00,ewa,1",)]


def test_reimport_is_idempotent_and_deduplicates(tmp_path, project_factory):
    project = project_factory()
    path = broken_csv(tmp_path / "export.csv")
    spec = FileSpec("legacy_tool", MAPPING)
    import_file(project, path, spec)
    first = posts_of(project)
    files_before = {p: project.storage.read_bytes(p) for p in project.storage.glob("**/*.parquet")}
    import_file(project, path, spec)
    assert posts_of(project) == first
    assert {p: project.storage.read_bytes(p) for p in project.storage.glob("**/*.parquet")} == files_before
    # An overlapping export from another day: the same posts are updated, not duplicated.
    overlap = tmp_path / "export2.csv"
    overlap.write_bytes(
        HEADER + GOOD[0].replace(",3\n", ",9\n").encode() + b"9,Korvo new post,2026-09-03 08:00,ania,0\n"
    )
    import_file(project, overlap, spec)
    rows = posts_of(project)
    assert [r[0] for r in rows] == ["1", "2", "3", "9"]
    assert rows[0][3] == 9


def test_encodings(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "id,message\n1,Zażółć gęślą jaźń\n".encode())
    result = read_file(bom)
    assert result.columns == ["id", "message"] and result.good[0].fields["message"] == "Zażółć gęślą jaźń"
    assert any("byte-order mark" in w for w in result.warnings)

    legacy = tmp_path / "cp1250.csv"
    legacy.write_bytes(
        "id;message\n1;Kvik się spóźnił, żółć i gęś\n2;Zamówienie z Zestą było świetne\n".encode("cp1250")
    )
    result = read_file(legacy)
    assert result.good[0].fields["message"] == "Kvik się spóźnił, żółć i gęś"
    assert any("not UTF-8; decoded as" in w for w in result.warnings)

    forced = read_file(legacy, encoding="cp1250")
    assert forced.encoding == "cp1250" and not forced.warnings


def test_jsonl_and_parquet(tmp_path, project_factory):
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text(
        json.dumps({"id": "a", "message": "Kvik ok", "date": "2026-09-01T10:00:00Z", "user": "x"})
        + "\n"
        + '{"id": "b", "message": "truncated...\n'
        + "[1, 2]\n"
        + json.dumps({"id": "c", "message": "Zesta", "date": 1788256800, "user": "y"})
        + "\n",
        encoding="utf-8",
    )
    result = read_file(jsonl)
    assert [r.error for r in result.bad] == [
        "invalid JSON: Unterminated string starting at",
        "expected a JSON object, got list",
    ]
    parquet = tmp_path / "export.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["p1", "p2"],
                "message": ["Mercato promo", None],
                "date": [dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)] * 2,
                "user": ["u", "v"],
            }
        ),
        parquet,
    )
    project = project_factory()
    spec = FileSpec("tool", {k: v for k, v in MAPPING.items() if k != "likes"})
    assert import_file(project, jsonl, spec)["posts"] == 2
    assert import_file(project, parquet, spec)["posts"] == 1
    assert len(posts_of(project)) == 3


def test_whole_file_problems_fail_loudly(tmp_path, project_factory):
    project = project_factory()
    path = broken_csv(tmp_path / "export.csv")
    with pytest.raises(FileImportError, match=r"mapped column\(s\) not in the file: text='body'"):
        import_file(project, path, FileSpec("tool", MAPPING | {"text": "body"}))
    with pytest.raises(FileImportError, match="no such file"):
        import_file(project, tmp_path / "missing.csv", FileSpec("tool", MAPPING))
    with pytest.raises(FileImportError, match="must say which column holds 'created_at'"):
        import_file(project, path, FileSpec("tool", {"text": "message"}))
    with pytest.raises(FileImportError, match="source id 'My Tool' must be lowercase"):
        FileSpec("My Tool", MAPPING)
    with pytest.raises(FileImportError, match="unknown timezone 'Europe/Gdansk'"):
        FileSpec("tool", MAPPING, timezone="Europe/Gdansk")


def test_cli_import_reports_and_quarantines(tmp_path, project_factory, capsys):
    from pipelines.cli import main

    project = project_factory()
    path = broken_csv(tmp_path / "export.csv")
    code = main(
        [
            "--config",
            str(project.config_path),
            "import",
            str(path),
            "--source",
            "legacy_tool",
            *[f"--map={k}={v}" for k, v in MAPPING.items()],
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["posts"] == 3 and out["quarantined"] == 5
    assert main(["--config", str(project.config_path), "import", str(path), "--source", "nope"]) == 2
    assert "not in the config" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Привет, заказал в Квике, ждал два часа. Верните деньги!", "cp1251"),
        ("Привет, заказал в Квике, ждал два часа. Верните деньги!", "koi8_r"),
        ("Kvik się spóźnił, żółć i gęś", "cp1250"),
        ("Kvik je zamujal, še vedno čakam na dostavo", "cp1250"),
        ("Ég pantaði frá Kvik, kom seint. Þetta er ömurlegt", "cp1252"),
        ("Livraison très en retard, déçue", "cp1252"),
        ("¿Dónde está mi pedido? Llegó tarde", "cp1252"),
    ],
)
def test_legacy_encoding_guess_reads_the_words_back(text, encoding):
    from pipelines.connectors.file_import import guess_legacy_encoding

    data = text.encode(encoding)
    assert data.decode(guess_legacy_encoding(data)) == text


def test_rows_breaking_the_posts_contract_are_quarantined(tmp_path, project_factory):
    project = project_factory()
    path = tmp_path / "reviews.csv"
    path.write_text("id,message,date,stars\nr1,Great app,2026-09-01 10:00,5\nr2,Ten stars!!,2026-09-01 11:00,10\n",
                    encoding="utf-8")  # fmt: skip
    result = import_file(project, path, FileSpec("reviews", {"native_id": "id", "text": "message",
                                                             "created_at": "date", "rating": "stars"}))  # fmt: skip
    assert (result["posts"], result["contract_rejected"]) == (1, 1)
    [rejected] = [r for r in quarantine_reasons(project) if r["stage"] == "contract"]
    assert rejected["reason"] == "rating: 10.0 is above 5"
