"""Connectors: file exports (``file_import``) and live sources, one module each (``base`` holds the
interface they share). Importing this package registers every live connector."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "http", "file_import"):
        importlib.import_module(f"{__name__}.{_module.name}")
