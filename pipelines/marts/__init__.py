"""Marts: the comparisons strategists act on, computed with DuckDB SQL over the enriched layer.

``build_marts`` brings every mart up to date (incrementally when it can); ``evidence_posts`` turns the
``evidence`` of any mart row back into the posts behind the number. Definitions: ``metrics.py`` and
``docs/metrics.md``.
"""

from pipelines.marts.build import build_marts
from pipelines.marts.evidence import evidence_posts

__all__ = ["build_marts", "evidence_posts"]
