"""Row-level checks and Arrow conversion, derived from the contracts in ``schemas.tables``.

``violations`` tells, for one row, which constraints it breaks (so the row can be quarantined with
that reason); ``to_arrow`` builds a table with exactly the contract's schema.
"""

from __future__ import annotations

import re
from functools import cache

import pyarrow as pa

from schemas.tables import Table, constraints_of


@cache
def _checks(table: Table) -> list[tuple[str, bool, dict, re.Pattern | None]]:
    checks = []
    for field_ in table.schema:
        c = constraints_of(field_)
        pattern = re.compile(c["pattern"]) if "pattern" in c else None
        checks.append((field_.name, field_.nullable, c, pattern))
    return checks


def violations(row: dict, table: Table) -> list[str]:
    """Every constraint of ``table`` the row breaks, as readable reasons naming the column."""
    problems = []
    for name, nullable, c, pattern in _checks(table):
        value = row.get(name)
        if value is None:
            if not nullable:
                problems.append(f"{name}: required but missing")
            continue
        if "enum" in c and value not in c["enum"]:
            problems.append(f"{name}: {value!r} is not one of {c['enum']}")
        if "min" in c and isinstance(value, int | float) and value < c["min"]:
            problems.append(f"{name}: {value} is below {c['min']}")
        if "max" in c and isinstance(value, int | float) and value > c["max"]:
            problems.append(f"{name}: {value} is above {c['max']}")
        if pattern is not None and isinstance(value, str) and not pattern.match(value):
            problems.append(f"{name}: {value!r} does not match {pattern.pattern}")
    return problems


def to_arrow(rows: list[dict], table: Table) -> pa.Table:
    """Rows -> an Arrow table with the contract's exact schema (missing columns are null)."""
    schema = table.with_metadata()
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def conform(data: pa.Table, table: Table) -> pa.Table:
    """Reorder/cast an Arrow table to the contract (adds missing nullable columns as nulls)."""
    schema = table.with_metadata()
    arrays = []
    for field_ in schema:
        if field_.name in data.column_names:
            arrays.append(data.column(field_.name).cast(field_.type))
        elif field_.nullable:
            arrays.append(pa.nulls(len(data), field_.type))
        else:
            raise ValueError(f"{table.name}: required column {field_.name!r} is missing")
    return pa.Table.from_arrays(arrays, schema=schema)
