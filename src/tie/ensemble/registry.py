"""Name -> rule registries of the ensemble: one place that knows every valid name.

A rule is a small class or function registered under a name with a decorator
(`@register_scoring("tcc")`). The built-in rules live in `tie.ensemble.rules`, one module per
kind, and are imported on the first lookup; a new rule is one module there (or anywhere that is
imported before the run) plus the config entry that names it. Everything that validates or lists
names (options, the run plan, bench, analysis) asks these registries instead of keeping its own
tuple.

Names are known without importing a rule: the built-in modules import torch, and checking a config
must not (a bad value is refused within a second). `names()` reads the built-in modules' decorators
from their source (`@register_scoring("tcc", counts=True)`: a literal name and literal tags);
`get()` imports them. A test holds the two views equal, so a rule registered in a form the source
read cannot see fails there, not at run time.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Rules of one kind by name, in registration order."""

    def __init__(self, kind: str, decorator: str) -> None:
        self.kind = kind
        self.decorator = decorator  # the `register_*` name the built-in modules decorate with
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
        """Every valid name: the built-in ones (read from source until they are imported), then
        those registered elsewhere, in registration order."""
        declared = list(declared_rules().get(self.decorator, {}))
        builtin = [n for n in declared if n in self._items or not _loaded]
        return builtin + [n for n in self._items if n not in declared]

    def declared(self) -> dict[str, dict[str, Any]]:
        """The built-in rules' names and literal tags as their source declares them (no import)."""
        return dict(declared_rules().get(self.decorator, {}))

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


# round score of each trajectory (higher: leads)
SCORINGS: Registry[Any] = Registry("scoring", "register_scoring")
# who leads among tied scores
TIE_RULES: Registry[Any] = Registry("tie_break", "register_tie_rule")
# which candidate answers
FINAL_SELECTIONS: Registry[Any] = Registry("final_selection", "register_final_selection")
# how a canvas crosses tokenizers
BRIDGES: Registry[Any] = Registry("bridge gap rule", "register_bridge")
# what the change count reads
CHANGE_POSITIONS: Registry[Any] = Registry("change_positions", "register_change_positions")
# single, post, tie, avg, vote, oracle
METHODS: Registry[Any] = Registry("method", "register_method")

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


def _builtin_files() -> list[Path]:
    """The built-in modules' source files, in the order `_load_builtins` imports them."""
    here = Path(__file__).parent
    rules = here / _BUILTINS[0].rpartition(".")[2]
    return [
        *(
            rules / info.name / "__init__.py" if info.ispkg else rules / f"{info.name}.py"
            for info in pkgutil.iter_modules([str(rules)])
        ),
        *(here / f"{mod.rpartition('.')[2]}.py" for mod in _BUILTINS[1:]),
    ]


@cache
def declared_rules() -> dict[str, dict[str, dict[str, Any]]]:
    """decorator name -> {rule name: literal tags}, read from the built-in modules' source: every
    top-level `@register_*("name", tag=literal)` decorator."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for file in _builtin_files():
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in tree.body:
            for deco in getattr(node, "decorator_list", []):
                call = deco if isinstance(deco, ast.Call) else None
                if call is None or not isinstance(call.func, ast.Name):
                    continue
                if not call.func.id.startswith("register_"):
                    continue
                try:
                    name = ast.literal_eval(call.args[0])
                    tags = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
                except (IndexError, ValueError) as exc:
                    raise ValueError(
                        f"{file}:{call.lineno}: @{call.func.id}(...) needs a literal name and "
                        "literal tags (the registry reads them without importing the module)"
                    ) from exc
                out.setdefault(call.func.id, {})[name] = tags
    return out


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
