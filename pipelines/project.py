"""Open a project: its validated config, where relative paths resolve, and its storage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipelines.storage import Storage
from schemas.config import ConfigError, ProjectConfig, load_config

CONFIG_ENV = "LISTENING_CONFIG"
DEFAULT_CONFIG = "listening.yaml"


def config_path_from_env(path: str | Path | None = None) -> Path:
    """The config to use: an explicit path, else $LISTENING_CONFIG, else ./listening.yaml."""
    chosen = path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    resolved = Path(chosen).expanduser().resolve()
    if not resolved.exists():
        raise ConfigError(f"config file not found: {resolved} (pass --config or set {CONFIG_ENV})")
    return resolved


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    config_path: Path

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent

    def resolve(self, path: str | Path) -> Path:
        """A path from the config, relative to the config file's folder unless absolute."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @cached_property
    def storage(self) -> Storage:
        root = self.config.storage.root
        if "://" in root:
            return Storage(root)
        return Storage(self.resolve(root))


def open_project(path: str | Path | None = None) -> Project:
    config_path = config_path_from_env(path)
    return Project(config=load_config(config_path), config_path=config_path)
