"""What detectors share while one repository is analysed: the files, parsed manifests and the
findings of the detectors that ran before.

Everything is computed lazily and cached here, so detectors can ask for the same manifest or the
same list of source files without re-reading or re-parsing (analysis of a small repo stays well
under 50 ms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hivemind.analysis.files import RepoFiles, join
from hivemind.analysis.manifests import (
    Dependencies,
    GoMod,
    PackageJson,
    Pipfile,
    PyProject,
    parse_go_mod,
    parse_package_json,
    parse_pipfile,
    parse_pyproject,
    parse_requirements,
    parse_setup_py,
)
from hivemind.errors import ManifestError

SOURCE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "node": (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx"),
    "python": (".py",),
    "go": (".go",),
}
# Folders whose code is not the running app: tests, fixtures, docs, examples, build output.
NON_APP_DIRS = frozenset({
    "test", "tests", "__tests__", "spec", "specs", "testdata", "e2e", "fixtures", "__mocks__",
    "docs", "doc", "examples", "example", "dist", "build", "out", "migrations", "scripts",
})
_TEST_FILE_RE = re.compile(r"(?:^|/)(?:test_[^/]*\.py|[^/]*_test\.(?:py|go)|conftest\.py|[^/]*\.(?:test|spec)\.[cm]?[jt]sx?)$")
MAX_SOURCE_FILES = 300
MAX_SOURCE_BYTES = 256 * 1024
PYTHON_REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Found:
    """One detected value and where it came from (``file[:key]`` or ``default:<rule>``)."""

    value: Any
    source: str


@dataclass
class Detection:
    """What one detector found: TechStack fields with their sources, and notes for the user."""

    findings: dict[str, Found] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    other_manifests: list[str] = field(default_factory=list)

    def set(self, name: str, value: Any, source: str) -> None:
        self.findings[name] = Found(value, source)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class DetectionContext:
    """Shared, cached state for one analysis run."""

    def __init__(self, files: RepoFiles) -> None:
        self.files = files
        self.findings: dict[str, Found] = {}
        self.warnings: list[str] = []
        self.other_manifests: list[str] = []
        self.extras: dict[str, Any] = {}
        self._cache: dict[tuple[str, str], Any] = {}

    # --- findings ----------------------------------------------------------------------------
    def value(self, name: str, default: Any = None) -> Any:
        finding = self.findings.get(name)
        return finding.value if finding is not None else default

    def source(self, name: str) -> str | None:
        finding = self.findings.get(name)
        return finding.source if finding is not None else None

    def apply(self, detection: Detection) -> None:
        self.findings.update(detection.findings)
        for message in detection.warnings:
            if message not in self.warnings:
                self.warnings.append(message)
        for manifest in detection.other_manifests:
            if manifest not in self.other_manifests:
                self.other_manifests.append(manifest)

    @property
    def app_dir(self) -> str:
        return str(self.value("app_dir", "."))

    @property
    def language(self) -> str | None:
        return self.value("language")

    def path(self, rel: str, app_dir: str | None = None) -> str:
        return join(self.app_dir if app_dir is None else app_dir, rel)

    def text(self, rel: str) -> str | None:
        return self.files.read_text(rel, MAX_SOURCE_BYTES)

    # --- manifests (cached; ManifestError propagates) ----------------------------------------
    def _cached(self, kind: str, key: str, build: Any) -> Any:
        cache_key = (kind, key)
        if cache_key not in self._cache:
            self._cache[cache_key] = build()
        return self._cache[cache_key]

    def package_json(self, app_dir: str | None = None) -> PackageJson | None:
        rel = self.path("package.json", app_dir)

        def build() -> PackageJson | None:
            if not self.files.is_file(rel):
                return None
            text = self.files.read_text(rel, 1024 * 1024)
            if text is None:
                raise ManifestError(f"{rel} could not be read as text", context={"file": rel})
            return parse_package_json(text, rel)

        return self._cached("package.json", rel, build)

    def pyproject(self, app_dir: str | None = None) -> PyProject | None:
        rel = self.path("pyproject.toml", app_dir)
        return self._cached("pyproject", rel, lambda: parse_pyproject(self.files, rel) if self.files.is_file(rel) else None)

    def pipfile(self, app_dir: str | None = None) -> Pipfile | None:
        rel = self.path("Pipfile", app_dir)
        return self._cached("pipfile", rel, lambda: parse_pipfile(self.files, rel) if self.files.is_file(rel) else None)

    def go_mod(self, app_dir: str | None = None) -> GoMod | None:
        rel = self.path("go.mod", app_dir)

        def build() -> GoMod | None:
            if not self.files.is_file(rel):
                return None
            text = self.files.read_text(rel, 1024 * 1024)
            if text is None:
                raise ManifestError(f"{rel} could not be read as text", context={"file": rel})
            return parse_go_mod(text, rel)

        return self._cached("go.mod", rel, build)

    def python_manifests(self, app_dir: str | None = None) -> list[str]:
        """The Python manifests present in the app folder, in the order they are read."""
        names = (PYTHON_REQUIREMENTS, "pyproject.toml", "Pipfile", "setup.py")
        return [self.path(name, app_dir) for name in names if self.files.is_file(self.path(name, app_dir))]

    def python_deps(self, app_dir: str | None = None) -> Dependencies:
        """Runtime dependencies declared by every Python manifest of the app folder, merged."""
        key = self.path(".", app_dir)

        def build() -> Dependencies:
            deps = Dependencies()
            req = self.path(PYTHON_REQUIREMENTS, app_dir)
            if self.files.is_file(req):
                deps.merge(parse_requirements(self.files, req))
            for parsed in (self.pyproject(app_dir), self.pipfile(app_dir)):
                if parsed is not None:
                    deps.merge(parsed.deps)
            setup = self.path("setup.py", app_dir)
            if self.files.is_file(setup):
                deps.merge(parse_setup_py(self.files, setup))
            return deps

        return self._cached("python-deps", key, build)

    def deps(self, language: str, app_dir: str | None = None) -> Dependencies:
        """Declared dependencies of ``language`` in the app folder (empty when none)."""
        if language == "node":
            manifest = self.package_json(app_dir)
            return manifest.deps if manifest else Dependencies()
        if language == "python":
            return self.python_deps(app_dir)
        manifest = self.go_mod(app_dir)
        return manifest.deps if manifest else Dependencies()

    # --- source --------------------------------------------------------------------------------
    def source_files(self, language: str, app_dir: str | None = None) -> list[str]:
        """The app's own source files (tests, fixtures, docs and build output left out), bounded."""
        folder = self.app_dir if app_dir is None else app_dir

        def build() -> list[str]:
            found = []
            for rel in self.files.walk(folder, suffixes=SOURCE_SUFFIXES[language], skip=NON_APP_DIRS):
                if _TEST_FILE_RE.search(rel) or rel.endswith(".d.ts"):
                    continue
                found.append(rel)
                if len(found) >= MAX_SOURCE_FILES:
                    break
            # Shallow files first: entry points live near the top.
            return sorted(found, key=lambda rel: (rel.count("/"), rel))

        return self._cached(f"sources-{language}", folder, build)

    def sources(self, language: str, app_dir: str | None = None) -> list[tuple[str, str]]:
        """(path, text) of every source file of ``language`` in the app folder."""
        out = []
        for rel in self.source_files(language, app_dir):
            text = self.text(rel)
            if text is not None:
                out.append((rel, text))
        return out

    def procfile(self, app_dir: str | None = None) -> tuple[str, dict[str, str]] | None:
        """(path, {process: command}) of the Procfile in the app folder, else at the root."""
        for rel in dict.fromkeys((self.path("Procfile", app_dir), "Procfile")):
            text = self.files.read_text(rel) if self.files.is_file(rel) else None
            if text is None:
                continue
            processes: dict[str, str] = {}
            for line in text.splitlines():
                match = re.match(r"^\s*([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$", line)
                if match and not line.lstrip().startswith("#"):
                    processes.setdefault(match.group(1), match.group(2))
            return rel, processes
        return None
