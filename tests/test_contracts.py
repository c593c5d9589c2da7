import datetime as dt
import json

import pytest

from pipelines.contracts import to_arrow, violations
from pipelines.validation import ValidationFailed, expectations_for, validate
from schemas.tables import POSTS, TABLES, TABLES_DIR

NOW = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)


def post(**changes) -> dict:
    row = {
        "post_id": "p_" + "0" * 20, "source": "reddit", "native_id": "t1_x", "created_at": NOW,
        "text": "Kvik late again", "is_brand_account": False, "is_deleted": False, "query": "file:x",
        "fetched_at": NOW, "raw_ref": "raw/x#0",
    }  # fmt: skip
    return row | changes


def test_exported_table_contracts_are_current():
    for table in TABLES.values():
        path = TABLES_DIR / f"{table.name}.v{table.version}.json"
        assert json.loads(path.read_text(encoding="utf-8")) == table.to_json(), (
            "run `listening schemas export`"
        )


def test_row_violations_name_the_column():
    assert violations(post(), POSTS) == []
    problems = violations(post(text=None, likes=-3, source="Not An Id"), POSTS)
    assert "text: required but missing" in problems
    assert "likes: -3 is below 0" in problems
    assert any(p.startswith("source: 'Not An Id' does not match") for p in problems)


def test_gx_suite_is_derived_from_the_contract():
    names = [type(e).__name__ for e in expectations_for(POSTS)]
    # One not-null expectation per required column, plus ranges, patterns, uniqueness and the key.
    required = [f.name for f in POSTS.schema if not f.nullable]
    assert sum("NotBeNull" in n for n in names) == len(required)
    assert any("CompoundColumnsToBeUnique" in n for n in names)


def test_gx_validation_passes_good_and_fails_bad_data():
    good = to_arrow([post(), post(post_id="p_" + "1" * 20, native_id="t1_y")], POSTS)
    assert validate(good, POSTS)["failed"] == 0
    bad = to_arrow([post(), post(likes=-1)], POSTS)  # duplicate key and negative likes
    with pytest.raises(ValidationFailed) as info:
        validate(bad, POSTS)
    message = str(info.value)
    assert "expect_compound_columns_to_be_unique" in message
    assert "expect_column_values_to_be_between" in message
