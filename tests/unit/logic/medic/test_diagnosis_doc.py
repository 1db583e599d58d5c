"""docs/diagnosis.md is generated from the rules and the committed file is current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hivemind.logic.medic import catalogue

ROOT = Path(__file__).resolve().parents[4]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_diagnosis", ROOT / "docs" / "gen_diagnosis.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_doc_is_current() -> None:
    text = (ROOT / "docs" / "diagnosis.md").read_text()
    assert text == _generator().render(), "docs/diagnosis.md is stale: run `python docs/gen_diagnosis.py`"


def test_doc_has_one_row_per_rule_with_its_remediation() -> None:
    text = _generator().render()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line.split("|")[2]]
    assert len(rows) == len(catalogue())
    for rule in catalogue():
        row = next(r for r in rows if f"`{rule.id}`" in r)
        assert rule.remediation.split(":")[0].replace("|", "\\|") in row
        assert row.rstrip(" |").endswith("yes" if rule.fixable else "no")
