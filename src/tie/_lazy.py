"""Lazy package exports (PEP 562): a package's `__init__` names what it exports and where, and a
name's module is imported on first use. Importing a light module of a package (its options, its
config) then never runs the heavy ones (torch), so a config check stays torch-free."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


class _LazyPackage(types.ModuleType):
    """An exported name wins over a submodule of the same name (`tie.decoding.generate` is the
    function, as an eager `from .generate import generate` in `__init__` made it): importing the
    submodule binds the export on the package, not the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
            and exports.get(name) == f".{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for `package`: `exports` maps each exported name to the module
    (relative to the package, e.g. ".config") that defines it; the value is cached on the package
    once imported."""
    module = sys.modules[package]
    module.__class__ = _LazyPackage
    module._lazy_exports = exports

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where, package), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(module), *exports})

    return __getattr__, __dir__
