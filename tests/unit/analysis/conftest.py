"""Helpers for the analysis tests: write a small repository from a {path: text} table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hivemind.analysis import analyze_directory
from hivemind.models import TechStack


def write_tree(root: Path, files: dict[str, Any]) -> Path:
    """Write ``files`` under ``root``; dict/list values are written as JSON (package.json)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict | list):
            content = json.dumps(content)
        path.write_text(content)
    return root


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    counter = iter(range(1000))

    def build(files: dict[str, Any]) -> Path:
        return write_tree(tmp_path / f"repo{next(counter)}", files)

    return build


@pytest.fixture
def analyze(make_repo: Callable[[dict[str, Any]], Path]) -> Callable[[dict[str, Any]], TechStack]:
    def run(files: dict[str, Any]) -> TechStack:
        return analyze_directory(make_repo(files))

    return run
