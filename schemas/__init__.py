"""The one definition of every table and of the project file."""

from schemas.config import ConfigError, ProjectConfig, load_config, parse_config
from schemas.tables import (
    ENRICHED_POSTS,
    MART_BRAND_KPIS,
    MART_BRAND_VOLUME,
    MARTS,
    POSTS,
    QUARANTINE,
    RAW_ENVELOPE,
    TABLES,
    Table,
)

__all__ = [
    "ConfigError",
    "ENRICHED_POSTS",
    "MARTS",
    "MART_BRAND_VOLUME",
    "MART_BRAND_KPIS",
    "POSTS",
    "ProjectConfig",
    "QUARANTINE",
    "RAW_ENVELOPE",
    "TABLES",
    "Table",
    "load_config",
    "parse_config",
]
