"""Detector discovery: every file's Detector subclass is found, described and ordered."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hivemind.analysis.detectors import Detector, _order, discover

EXPECTED_IDS = {"D001", "D002", "D003", "D004", "D005", "D006", "D007", "D008", "D009"}


def test_every_detector_is_discovered_with_its_metadata() -> None:
    detectors = discover()
    assert {d.id for d in detectors} == EXPECTED_IDS
    for detector in detectors:
        assert detector.shortdesc and detector.description and detector.tags and detector.provides


def test_order_runs_providers_before_their_users() -> None:
    position: dict[str, int] = {}
    for index, detector in enumerate(discover()):
        for name in detector.provides:
            position[name] = index
    for index, detector in enumerate(discover()):
        for name in detector.requires:
            assert position[name] < index, f"{detector.id} runs before the provider of {name}"


def test_each_stack_field_has_exactly_one_provider() -> None:
    provided = [name for d in discover() for name in d.provides]
    assert len(provided) == len(set(provided))


def _make(ident: str, provides: tuple[str, ...], requires: tuple[str, ...]) -> type[Detector]:
    class Fake(Detector):
        id: ClassVar[str] = ident

    Fake.provides, Fake.requires = provides, requires
    return Fake


def test_order_rejects_cycles_missing_providers_and_duplicates() -> None:
    with pytest.raises(RuntimeError, match="cycle"):
        _order([_make("A", ("a",), ("b",)), _make("B", ("b",), ("a",))])
    with pytest.raises(RuntimeError, match="no detector provides"):
        _order([_make("A", ("a",), ("zzz",))])
    with pytest.raises(RuntimeError, match="provided by both"):
        _order([_make("A", ("a",), ()), _make("B", ("a",), ())])
    assert [c.id for c in _order([_make("B", ("b",), ("a",)), _make("A", ("a",), ())])] == ["A", "B"]
