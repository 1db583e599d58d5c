"""D003 runtime version: which Node, Python or Go version the app asks for, and where.

One precedence for every language: a file whose only job is to pin the runtime beats a field in
a manifest, and an exact pin beats a minimum or a range.

* Node:   .nvmrc > .node-version > package.json engines.node
* Python: .python-version > runtime.txt > Pipfile [requires] python_full_version > python_version
          > pyproject.toml project.requires-python (or tool.poetry.dependencies.python)
* Go:     go.mod toolchain > go.mod go directive

Each file is looked for in the app folder first, then at the repository root.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector

_VALID = re.compile(r"^[A-Za-z0-9.*^~<>=!|, /_-]{1,64}$")


def _first_line(text: str | None) -> str | None:
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return line
    return None


def _major(version: str) -> str | None:
    match = re.search(r"\d+(?:\.\d+)?", version)
    if not match:
        return None
    parts = match.group(0).split(".")
    # Python and Go versions are told apart by their minor; Node by its major.
    return ".".join(parts[:2]) if parts[0] in ("1", "2", "3") else parts[0]


class RuntimeVersionDetector(Detector):
    id = "D003"
    shortdesc = "Runtime version"
    description = (
        "Reads the runtime version with one precedence for all languages: a pin file (.nvmrc, "
        ".node-version, .python-version, runtime.txt; go.mod toolchain) beats a manifest field "
        "(engines.node, Pipfile [requires], requires-python; go directive)."
    )
    tags = ("runtime", "version")
    provides = ("runtime_version",)
    requires = ("language", "app_dir")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        getter: dict[str, Callable[[DetectionContext], list[tuple[str, str]]]] = {
            "node": self._node, "python": self._python, "go": self._go,
        }
        found = [(value, source) for value, source in getter[ctx.language](ctx) if value]
        valid = []
        for value, source in found:
            if _VALID.match(value):
                valid.append((value, source))
            else:
                result.warn(f"ignored the runtime version in {source}: {value[:40]!r} is not a version")
        if not valid:
            return result
        value, source = valid[0]
        result.set("runtime_version", value, source)
        chosen = _major(value)
        for other, other_source in valid[1:]:
            if chosen and _major(other) and _major(other) != chosen:
                result.warn(f"runtime version {value} from {source} differs from {other} in {other_source}; "
                            f"{source.split(':')[0]} wins (see docs/detection.md)")
        return result

    @staticmethod
    def _files(ctx: DetectionContext, name: str) -> list[str]:
        return [rel for rel in dict.fromkeys((ctx.path(name), name)) if ctx.files.is_file(rel)]

    def _pin(self, ctx: DetectionContext, name: str, clean: Callable[[str], str]) -> list[tuple[str, str]]:
        out = []
        for rel in self._files(ctx, name):
            line = _first_line(ctx.files.read_text(rel, 4096))
            if line:
                out.append((clean(line), rel))
        return out

    def _node(self, ctx: DetectionContext) -> list[tuple[str, str]]:
        strip_v = lambda v: re.sub(r"^v(?=\d)", "", v)  # noqa: E731
        found = self._pin(ctx, ".nvmrc", strip_v) + self._pin(ctx, ".node-version", strip_v)
        manifest = ctx.package_json()
        if manifest and manifest.engines_node:
            found.append((manifest.engines_node, f"{manifest.path}:engines.node"))
        return found

    def _python(self, ctx: DetectionContext) -> list[tuple[str, str]]:
        found = self._pin(ctx, ".python-version", lambda v: v)
        found += self._pin(ctx, "runtime.txt", lambda v: re.sub(r"^python-", "", v))
        pipfile = ctx.pipfile()
        if pipfile and pipfile.python_version:
            value, key = pipfile.python_version
            found.append((value, f"{pipfile.path}:{key}"))
        pyproject = ctx.pyproject()
        if pyproject and pyproject.requires_python:
            found.append((pyproject.requires_python, f"{pyproject.path}:{pyproject.requires_python_key}"))
        return found

    def _go(self, ctx: DetectionContext) -> list[tuple[str, str]]:
        manifest = ctx.go_mod()
        if manifest is None:
            return []
        found = []
        if manifest.toolchain and manifest.toolchain != "default":
            found.append((manifest.toolchain.removeprefix("go"), f"{manifest.path}:toolchain"))
        if manifest.go:
            found.append((manifest.go, f"{manifest.path}:go"))
        return found
