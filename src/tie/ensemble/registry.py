"""Name -> rule registries of the ensemble: one place that knows every valid name.

A rule is a small class or function registered under a name with a decorator
(`@register_scoring("tcc")`). The built-in rules live in `tie.ensemble.rules`, one module per
kind, and are imported on the first lookup; a new rule is one module there (or anywhere that is
imported before the run) plus the config entry that names it. Everything that validates or lists
names (options, the run plan, bench, analysis) asks these registries instead of keeping its own
tuple.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Rules of one kind by name, in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, **attrs: Any) -> Callable[[T], T]:
        """Decorator: register the rule under `name`; `attrs` are set on it (e.g. status)."""

        def deco(rule: T) -> T:
            if name in self._items and self._items[name] is not rule:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            for k, v in attrs.items():
                setattr(rule, k, v)
            self._items[name] = rule
            return rule

        return deco

    def unregister(self, name: str) -> None:
        """Drop a rule (tests that register their own)."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        _load_builtins()
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; valid: {self.names()}")
        return self._items[name]

    def names(self) -> list[str]:
        _load_builtins()
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        _load_builtins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


SCORINGS: Registry[Any] = Registry("scoring")  # round score of each trajectory (higher: leads)
TIE_RULES: Registry[Any] = Registry("tie_break")  # who leads among tied scores
FINAL_SELECTIONS: Registry[Any] = Registry("final_selection")  # which candidate answers
BRIDGES: Registry[Any] = Registry("bridge gap rule")  # how a canvas crosses tokenizers
CHANGE_POSITIONS: Registry[Any] = Registry("change_positions")  # what the change count reads
METHODS: Registry[Any] = Registry("method")  # single, post, tie, avg, vote, oracle

register_scoring = SCORINGS.register
register_tie_rule = TIE_RULES.register
register_final_selection = FINAL_SELECTIONS.register
register_bridge = BRIDGES.register
register_change_positions = CHANGE_POSITIONS.register
register_method = METHODS.register

_BUILTINS = (
    "tie.ensemble.rules", "tie.ensemble.bridge", "tie.ensemble.methods", "tie.ensemble.baselines",
)  # fmt: skip
_loaded = False


def _load_builtins() -> None:
    """Import every module of `tie.ensemble.rules` and the method modules (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    rules = importlib.import_module(_BUILTINS[0])
    for info in pkgutil.iter_modules(rules.__path__):
        importlib.import_module(f"{rules.__name__}.{info.name}")
    for mod in _BUILTINS[1:]:
        importlib.import_module(mod)
