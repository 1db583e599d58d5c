"""Pluggable detectors, one class per file in this folder (cfn-lint rule style).

A detector declares the TechStack fields it ``provides`` and the fields it ``requires`` from
earlier detectors; ``discover()`` imports every module here, collects the ``Detector``
subclasses and orders them so that requirements run first (ties broken by ``id``). Adding a
detector is adding a file: nothing else has to be edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import ClassVar

from hivemind.analysis.context import Detection, DetectionContext


class Detector:
    """Base class. Subclasses set the class attributes and implement ``detect``."""

    id: ClassVar[str] = ""
    shortdesc: ClassVar[str] = ""
    description: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[str, ...]] = ()

    def detect(self, ctx: DetectionContext) -> Detection:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.id} {self.shortdesc}>"


def _order(classes: list[type[Detector]]) -> list[type[Detector]]:
    """Topological order on provides/requires; a cycle or a missing provider is a bug: raise."""
    providers: dict[str, type[Detector]] = {}
    for cls in classes:
        for name in cls.provides:
            if name in providers:
                raise RuntimeError(f"{name!r} is provided by both {providers[name].id} and {cls.id}")
            providers[name] = cls
    ordered: list[type[Detector]] = []
    state: dict[str, str] = {}

    def visit(cls: type[Detector], chain: tuple[str, ...]) -> None:
        if state.get(cls.id) == "done":
            return
        if state.get(cls.id) == "visiting":
            raise RuntimeError(f"detector dependency cycle: {' -> '.join((*chain, cls.id))}")
        state[cls.id] = "visiting"
        for name in cls.requires:
            if name not in providers:
                raise RuntimeError(f"{cls.id} requires {name!r}, which no detector provides")
            visit(providers[name], (*chain, cls.id))
        state[cls.id] = "done"
        ordered.append(cls)

    for cls in sorted(classes, key=lambda c: c.id):
        visit(cls, ())
    return ordered


@lru_cache(maxsize=1)
def discover() -> tuple[Detector, ...]:
    """Every detector in this package, instantiated, in run order."""
    classes: list[type[Detector]] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Detector) and value is not Detector
                    and value.__module__ == module.__name__):
                classes.append(value)
    ids = [cls.id for cls in classes]
    duplicates = {i for i in ids if ids.count(i) > 1 or not i}
    if duplicates:
        raise RuntimeError(f"detector ids must be unique and non-empty: {sorted(duplicates)}")
    return tuple(cls() for cls in _order(classes))
