"""D003 runtime version: one precedence (pin files before manifest fields, exact before range)."""

from __future__ import annotations

import pytest

NODE = {"package.json": {"dependencies": {}}, "server.js": "require('http')\n"}
PY = {"app.py": "if __name__ == '__main__':\n    pass\n"}
GO = {"main.go": "package main\n\nfunc main() {}\n"}

CASES = [
    ({**NODE, ".nvmrc": "v18.19.0\n", ".node-version": "20\n",
      "package.json": {"engines": {"node": ">=16"}}}, "18.19.0", ".nvmrc"),
    ({**NODE, ".node-version": "20.12.2", "package.json": {"engines": {"node": ">=16"}}}, "20.12.2", ".node-version"),
    ({**NODE, "package.json": {"engines": {"node": "^20.1"}}}, "^20.1", "package.json:engines.node"),
    ({**NODE, ".nvmrc": "# comment\nlts/iron\n"}, "lts/iron", ".nvmrc"),
    (NODE, None, None),
    ({**PY, ".python-version": "3.12.3\n", "runtime.txt": "python-3.11.9", "requirements.txt": "flask\n"},
     "3.12.3", ".python-version"),
    ({**PY, "runtime.txt": "python-3.11.9\n", "pyproject.toml": "[project]\nname='x'\nrequires-python='>=3.10'\n"},
     "3.11.9", "runtime.txt"),
    ({**PY, "Pipfile": "[packages]\n[requires]\npython_version = '3.11'\npython_full_version = '3.11.4'\n"},
     "3.11.4", "Pipfile:requires.python_full_version"),
    ({**PY, "Pipfile": "[packages]\nflask='*'\n[requires]\npython_version = '3.10'\n",
      "pyproject.toml": "[project]\nname='x'\nrequires-python='>=3.9'\n"}, "3.10", "Pipfile:requires.python_version"),
    ({**PY, "pyproject.toml": "[project]\nname='x'\nrequires-python='>=3.10'\n"}, ">=3.10",
     "pyproject.toml:project.requires-python"),
    ({**GO, "go.mod": "module m\n\ngo 1.22\n\ntoolchain go1.22.5\n"}, "1.22.5", "go.mod:toolchain"),
    ({**GO, "go.mod": "module m\n\ngo 1.21.3\n"}, "1.21.3", "go.mod:go"),
    ({**GO, "go.mod": "module m\ngo 1.22\ntoolchain default\n"}, "1.22", "go.mod:go"),
]


@pytest.mark.parametrize(("files", "version", "source"), CASES)
def test_runtime_version_precedence(analyze, files, version, source) -> None:
    stack = analyze(files)
    assert stack.runtime_version == version
    assert stack.sources.get("runtime_version") == source


def test_garbage_version_file_is_ignored_with_a_warning(analyze) -> None:
    stack = analyze({**NODE, ".nvmrc": "<<<<<<< HEAD $(rm -rf /)\n", "package.json": {"engines": {"node": "20"}}})
    assert stack.runtime_version == "20"
    assert any("ignored the runtime version in .nvmrc" in w for w in stack.warnings)


def test_disagreeing_sources_are_reported(analyze) -> None:
    stack = analyze({**NODE, ".nvmrc": "22", "package.json": {"engines": {"node": "18.x"}}})
    assert stack.runtime_version == "22"
    assert any("differs from 18.x" in w for w in stack.warnings)


def test_app_folder_pin_beats_root_pin(analyze) -> None:
    stack = analyze({"README.md": "x", ".nvmrc": "18", "server/.nvmrc": "20",
                     "server/package.json": {"dependencies": {"express": "4"}},
                     "server/server.js": "require('express')\n"})
    assert (stack.app_dir, stack.runtime_version, stack.sources["runtime_version"]) == ("server", "20", "server/.nvmrc")
