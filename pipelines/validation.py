"""Great Expectations suites derived from the table contracts, and the validation gate.

The suites are generated from ``schemas.tables`` (column presence, nullability, allowed values,
ranges, patterns, uniqueness, the table key), so the contract is written once. Validation runs in an
ephemeral, offline GX context. A failed suite raises ``ValidationFailed`` with the failing expectations
spelled out: the task fails loudly instead of publishing bad data.
"""

from __future__ import annotations

import logging
import os
from functools import cache

import pandas as pd
import pyarrow as pa

from schemas.tables import Table, constraints_of

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# GX logs every decorated function at INFO when imported after Airflow's logging is configured.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

log = logging.getLogger(__name__)

_SCALAR = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean,
           pa.types.is_timestamp, pa.types.is_date)  # fmt: skip


class ValidationFailed(RuntimeError):
    """Data did not meet its contract."""


def _is_scalar(type_: pa.DataType) -> bool:
    return any(check(type_) for check in _SCALAR)


def expectations_for(table: Table, extra: list | None = None) -> list:
    """The GX expectations that express ``table``'s contract."""
    import great_expectations.expectations as gxe

    out: list = [gxe.ExpectTableColumnsToMatchSet(column_set=table.columns, exact_match=True)]
    for field_ in table.schema:
        name = field_.name
        if not field_.nullable:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=name))
        if not _is_scalar(field_.type):
            continue
        c = constraints_of(field_)
        if "enum" in c:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(c["enum"])))
        if "min" in c or "max" in c:
            out.append(
                gxe.ExpectColumnValuesToBeBetween(column=name, min_value=c.get("min"), max_value=c.get("max"))
            )
        if "pattern" in c:
            out.append(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=c["pattern"]))
        if c.get("unique"):
            out.append(gxe.ExpectColumnValuesToBeUnique(column=name))
    if len(table.key) > 1:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(table.key)))
    return out + list(extra or [])


@cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    return context, context.data_sources.add_pandas("listening")


def _to_pandas(data: pa.Table) -> pd.DataFrame:
    # Only scalar columns are checked by value; nested ones are kept (as objects) for presence.
    return data.to_pandas(types_mapper=None, timestamp_as_object=False)


# Larger tables are validated in row chunks (row-wise expectations) plus one pass over the columns the
# whole-table expectations (uniqueness, distinct values) need: same verdict, bounded memory.
ROW_CHUNK = 50_000
_WHOLE_TABLE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
                "expect_column_distinct_values_to_equal_set")  # fmt: skip


def _key(config) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return f"{config.type}:{sorted(kwargs.items(), key=lambda kv: kv[0])!r}"


def _columns_of(expectation) -> list[str]:
    kwargs = expectation.configuration.kwargs
    return list(kwargs.get("column_list") or [kwargs["column"]])


def _run(name: str, suite_name: str, expectations: list, data: pa.Table) -> list:
    import great_expectations as gx

    _, datasource = _context()
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=name)
    try:
        batch_definition = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": _to_pandas(data)})
    try:
        return list(batch.validate(suite).results)
    finally:
        # The asset would otherwise keep the last dataframe it saw alive for the life of the process.
        datasource.delete_asset(name)


def validate(data: pa.Table, table: Table, *, label: str = "", extra: list | None = None) -> dict:
    """Validate ``data`` against ``table``'s suite; return a summary, raise ValidationFailed on failure."""
    suite_name = f"{table.name}.v{table.version}"
    expectations = expectations_for(table, extra)
    if data.num_rows <= ROW_CHUNK:
        results = _run(table.name, suite_name, expectations, data)
    else:
        whole = [e for e in expectations if e.expectation_type in _WHOLE_TABLE]
        rowwise = [e for e in expectations if e.expectation_type not in _WHOLE_TABLE]
        # A failure in any chunk is the verdict (results are keyed: GX does not keep the suite's order).
        verdicts: dict[str, object] = {}
        for start in range(0, data.num_rows, ROW_CHUNK):
            for r in _run(table.name, suite_name, rowwise, data.slice(start, ROW_CHUNK)):
                key = _key(r.expectation_config)
                if key not in verdicts or (verdicts[key].success and not r.success):
                    verdicts[key] = r
        results = list(verdicts.values())
        if whole:
            columns = sorted({c for e in whole for c in _columns_of(e)})
            results += _run(table.name, suite_name, whole, data.select(columns))
    failed = [r for r in results if not r.success]
    summary = {
        "suite": suite_name,
        "rows": data.num_rows,
        "expectations": len(results),
        "failed": len(failed),
        "label": label,
    }
    if failed:
        lines = []
        for r in failed:
            config = r.expectation_config
            kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
            detail = r.result.get("partial_unexpected_list") or r.result.get("observed_value")
            lines.append(f"  - {config.type} {kwargs}: unexpected {detail!r}")
        raise ValidationFailed(
            f"{suite_name} failed {len(failed)} of {len(results)} expectations on {label or 'data'}:\n"
            + "\n".join(lines)
        )
    log.info("%s: %d rows passed %d expectations (%s)", suite_name, data.num_rows, len(results), label)
    return summary
