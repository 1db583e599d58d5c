"""Parsers for the manifests HiveMind reads: package.json, requirements*.txt, pyproject.toml,
Pipfile, setup.py, go.mod.

Dependencies are compared by *name* (normalised as each ecosystem does), never by substring, so
``flask-cors`` is not Flask and ``expressjs-utils`` is not Express. Only runtime dependencies are
returned: devDependencies, Poetry/PDM/uv dev groups, Pipfile ``[dev-packages]``, PEP 735
``[dependency-groups]`` and ``// indirect`` Go requirements are kept apart, because a framework
that is only a dev tool must not decide how the app is started.

A manifest that cannot be parsed raises ManifestError naming the file and what is wrong.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from hivemind.analysis.files import RepoFiles, join
from hivemind.errors import ManifestError

MAX_MANIFEST_BYTES = 1024 * 1024

_PY_NAME_RE = re.compile(r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\])?")
_EGG_RE = re.compile(r"#egg=(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_NORMALISE_RE = re.compile(r"[-_.]+")


def normalise_python_name(name: str) -> str:
    """PEP 503 normalisation: case-insensitive, runs of ``-_.`` equal."""
    return _NORMALISE_RE.sub("-", name).lower()


@dataclass(frozen=True)
class Dependency:
    """One declared runtime dependency: its normalised name, extras and the file declaring it."""

    name: str
    source: str
    extras: frozenset[str] = frozenset()
    spec: str = ""


@dataclass
class Dependencies:
    """Runtime (and, separately, dev-only) dependencies by normalised name."""

    runtime: dict[str, Dependency] = field(default_factory=dict)
    dev: dict[str, Dependency] = field(default_factory=dict)

    def add(self, dep: Dependency, *, dev: bool = False) -> None:
        target = self.dev if dev else self.runtime
        if dep.name in target:
            old = target[dep.name]
            target[dep.name] = Dependency(dep.name, old.source, old.extras | dep.extras, old.spec or dep.spec)
        else:
            target[dep.name] = dep

    def merge(self, other: Dependencies) -> None:
        for dep in other.runtime.values():
            self.add(dep)
        for dep in other.dev.values():
            self.add(dep, dev=True)

    def has(self, name: str) -> bool:
        return name in self.runtime

    def get(self, name: str) -> Dependency | None:
        return self.runtime.get(name)


def _read(files: RepoFiles, rel: str) -> str:
    text = files.read_text(rel, max_bytes=MAX_MANIFEST_BYTES)
    if text is None:
        raise ManifestError(f"{rel} could not be read (missing, binary or outside the repository)",
                            context={"file": rel})
    return text


# --- Node ------------------------------------------------------------------------------------
@dataclass
class PackageJson:
    path: str
    data: dict[str, Any]
    deps: Dependencies

    @property
    def scripts(self) -> dict[str, str]:
        return self.data.get("scripts") or {}

    @property
    def main(self) -> str | None:
        value = self.data.get("main")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def engines_node(self) -> str | None:
        engines = self.data.get("engines") or {}
        value = engines.get("node") if isinstance(engines, dict) else None
        return value.strip() if isinstance(value, str) and value.strip() else None

    @property
    def package_manager(self) -> str | None:
        value = self.data.get("packageManager")
        return value.strip() if isinstance(value, str) and value.strip() else None


def parse_package_json(text: str, path: str) -> PackageJson:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                            context={"file": path, "line": exc.lineno, "column": exc.colno}) from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path} must hold a JSON object, not {type(data).__name__}", context={"file": path})
    deps = Dependencies()
    for key, dev in (("dependencies", False), ("optionalDependencies", False), ("devDependencies", True)):
        section = data.get(key)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ManifestError(f"{path}: \"{key}\" must be an object of name -> version",
                                context={"file": path, "key": key})
        for name, spec in section.items():
            deps.add(Dependency(name.lower(), f"{path}:{key}", spec=str(spec)), dev=dev)
    for key in ("scripts", "engines"):
        if key in data and not isinstance(data[key], dict):
            raise ManifestError(f"{path}: \"{key}\" must be an object", context={"file": path, "key": key})
    scripts = data.get("scripts") or {}
    bad = [name for name, value in scripts.items() if not isinstance(value, str)]
    if bad:
        raise ManifestError(f"{path}: script {bad[0]!r} must be a string", context={"file": path})
    return PackageJson(path, data, deps)


# --- Python ----------------------------------------------------------------------------------
def parse_requirement(line: str, source: str) -> Dependency | None:
    """One PEP 508 requirement (or pip requirement-file line) -> Dependency; None for options."""
    text = line.split(" #", 1)[0].strip()
    if text.startswith("#") or not text:
        return None
    if text.startswith(("-e ", "--editable ", "--editable=")) or "://" in text.split(";")[0].split("@")[0]:
        egg = _EGG_RE.search(text)
        return Dependency(normalise_python_name(egg.group("name")), source) if egg else None
    if text.startswith("-"):
        return None
    text = re.split(r"\s+--?[A-Za-z]", text, maxsplit=1)[0]  # per-requirement options: --hash=..., --config-settings
    match = _PY_NAME_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a requirement")
    rest = text[match.end():].strip()
    if rest and rest[0] not in "<>=!~;@(,":
        raise ValueError(f"{text!r} is not a requirement")
    extras = frozenset(normalise_python_name(e.strip()) for e in (match.group("extras") or "").split(",") if e.strip())
    return Dependency(normalise_python_name(match.group("name")), source, extras, rest)


def parse_requirements(files: RepoFiles, rel: str, *, _seen: set[str] | None = None) -> Dependencies:
    """A pip requirements file, following ``-r``/``-c``-free includes inside the repository."""
    seen = _seen if _seen is not None else set()
    seen.add(rel)
    deps = Dependencies()
    text = _read(files, rel)
    folder = rel.rsplit("/", 1)[0] if "/" in rel else "."
    joined = text.replace("\\\n", " ")
    for number, raw in enumerate(joined.splitlines(), start=1):
        line = raw.strip()
        include = re.match(r"^(?:-r|--requirement)(?:\s+|=)(\S+)", line)
        if include:
            target = join(folder, include.group(1))
            if target not in seen and files.is_file(target):
                deps.merge(parse_requirements(files, target, _seen=seen))
            continue
        try:
            dep = parse_requirement(line, rel)
        except ValueError as exc:
            raise ManifestError(f"{rel} line {number}: {exc}", context={"file": rel, "line": number}) from None
        if dep is not None:
            deps.add(dep)
    return deps


def _toml(files: RepoFiles, rel: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_read(files, rel))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{rel} is not valid TOML: {exc}", context={"file": rel}) from None


@dataclass
class PyProject:
    path: str
    data: dict[str, Any]
    deps: Dependencies

    @property
    def tool(self) -> dict[str, Any]:
        tool = self.data.get("tool")
        return tool if isinstance(tool, dict) else {}

    @property
    def requires_python(self) -> str | None:
        project = self.data.get("project")
        if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
            return project["requires-python"].strip()
        poetry = self.tool.get("poetry", {})
        python = (poetry.get("dependencies") or {}).get("python") if isinstance(poetry, dict) else None
        return python.strip() if isinstance(python, str) else None

    @property
    def requires_python_key(self) -> str:
        project = self.data.get("project")
        if isinstance(project, dict) and "requires-python" in project:
            return "project.requires-python"
        return "tool.poetry.dependencies.python"


def _pep508_list(values: Any, source: str, path: str, key: str, deps: Dependencies, *, dev: bool) -> None:
    if values is None:
        return
    if not isinstance(values, list):
        raise ManifestError(f"{path}: {key} must be a list of requirement strings", context={"file": path, "key": key})
    for value in values:
        if isinstance(value, dict):  # PEP 735 {include-group = "..."}
            continue
        if not isinstance(value, str):
            raise ManifestError(f"{path}: {key} holds {value!r}, not a requirement string",
                                context={"file": path, "key": key})
        try:
            dep = parse_requirement(value, source)
        except ValueError as exc:
            raise ManifestError(f"{path}: {key}: {exc}", context={"file": path, "key": key}) from None
        if dep is not None:
            deps.add(dep, dev=dev)


def _poetry_table(table: Any, source: str, deps: Dependencies, *, dev: bool) -> None:
    if not isinstance(table, dict):
        return
    for name, spec in table.items():
        if name.lower() == "python":
            continue
        extras = frozenset(spec.get("extras", [])) if isinstance(spec, dict) else frozenset()
        deps.add(Dependency(normalise_python_name(name), source, extras, str(spec)), dev=dev)


def parse_pyproject(files: RepoFiles, rel: str) -> PyProject:
    data = _toml(files, rel)
    deps = Dependencies()
    project = data.get("project")
    if project is not None and not isinstance(project, dict):
        raise ManifestError(f"{rel}: [project] must be a table", context={"file": rel})
    if isinstance(project, dict):
        _pep508_list(project.get("dependencies"), f"{rel}:project.dependencies", rel, "project.dependencies",
                     deps, dev=False)
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else {}
    _poetry_table(poetry.get("dependencies"), f"{rel}:tool.poetry.dependencies", deps, dev=False)
    _poetry_table(poetry.get("dev-dependencies"), f"{rel}:tool.poetry.dev-dependencies", deps, dev=True)
    for group, body in (poetry.get("group") or {}).items():
        if isinstance(body, dict):
            _poetry_table(body.get("dependencies"), f"{rel}:tool.poetry.group.{group}", deps, dev=True)
    for group, values in (data.get("dependency-groups") or {}).items():
        _pep508_list(values, f"{rel}:dependency-groups.{group}", rel, f"dependency-groups.{group}", deps, dev=True)
    pdm = tool.get("pdm") if isinstance(tool.get("pdm"), dict) else {}
    for group, values in (pdm.get("dev-dependencies") or {}).items():
        _pep508_list(values, f"{rel}:tool.pdm.dev-dependencies", rel, f"tool.pdm.dev-dependencies.{group}", deps,
                     dev=True)
    uv = tool.get("uv") if isinstance(tool.get("uv"), dict) else {}
    _pep508_list(uv.get("dev-dependencies"), f"{rel}:tool.uv.dev-dependencies", rel, "tool.uv.dev-dependencies",
                 deps, dev=True)
    return PyProject(rel, data, deps)


@dataclass
class Pipfile:
    path: str
    data: dict[str, Any]
    deps: Dependencies

    @property
    def python_version(self) -> tuple[str, str] | None:
        requires = self.data.get("requires") or {}
        for key in ("python_full_version", "python_version"):
            value = requires.get(key) if isinstance(requires, dict) else None
            if isinstance(value, str) and value.strip():
                return value.strip(), f"requires.{key}"
        return None


def parse_pipfile(files: RepoFiles, rel: str) -> Pipfile:
    data = _toml(files, rel)
    deps = Dependencies()
    for key, dev in (("packages", False), ("dev-packages", True)):
        table = data.get(key)
        if table is not None and not isinstance(table, dict):
            raise ManifestError(f"{rel}: [{key}] must be a table of name = version", context={"file": rel})
        _poetry_table(table, f"{rel}:{key}", deps, dev=dev)
    return Pipfile(rel, data, deps)


def parse_setup_py(files: RepoFiles, rel: str) -> Dependencies:
    """``install_requires=[...]`` from setup.py when it is a literal list (it is not executed)."""
    deps = Dependencies()
    text = _read(files, rel)
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        raise ManifestError(f"{rel} is not valid Python: {exc.msg} at line {exc.lineno}",
                            context={"file": rel, "line": exc.lineno}) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            try:
                values = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(values, list | tuple):
                _pep508_list(list(values), f"{rel}:install_requires", rel, "install_requires", deps, dev=False)
    return deps


# --- Go --------------------------------------------------------------------------------------
@dataclass
class GoMod:
    path: str
    module: str
    go: str | None
    toolchain: str | None
    deps: Dependencies


_GO_DIRECTIVES = {"module", "go", "toolchain", "require", "replace", "exclude", "retract", "godebug", "tool",
                  "ignore"}


def parse_go_mod(text: str, rel: str) -> GoMod:
    """The directives of a go.mod; ``// indirect`` requirements are recorded as non-direct (dev)."""
    module = go = toolchain = None
    deps = Dependencies()
    block: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        indirect = "// indirect" in raw
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue

        def fail(why: str, number: int = number) -> ManifestError:
            return ManifestError(f"{rel} line {number}: {why}", context={"file": rel, "line": number})

        if block is not None:
            if line == ")":
                block = None
                continue
            words = line.split()
            if block == "require":
                if len(words) < 2:
                    raise fail(f"expected 'module/path version' inside require ( ... ), got {line!r}")
                deps.add(Dependency(words[0], f"{rel}:require", spec=words[1]), dev=indirect)
            continue
        words = line.split()
        directive = words[0]
        if directive not in _GO_DIRECTIVES:
            raise fail(f"unknown directive {directive!r}")
        if len(words) >= 2 and words[1] == "(":
            block = directive
            continue
        if directive == "module":
            if len(words) != 2:
                raise fail("module needs exactly one path")
            module = words[1].strip('"')
        elif directive == "go":
            if len(words) != 2 or not re.match(r"^\d+\.\d+(\.\d+)?([a-z]+\d*)?$", words[1]):
                raise fail(f"go directive needs a version like 1.22, got {' '.join(words[1:])!r}")
            go = words[1]
        elif directive == "toolchain":
            if len(words) != 2 or not re.match(r"^(go\d+\.\d+(\.\d+)?\S*|default)$", words[1]):
                raise fail(f"toolchain needs a name like go1.22.3, got {' '.join(words[1:])!r}")
            toolchain = words[1]
        elif directive == "require":
            if len(words) != 3:
                raise fail(f"require needs 'module/path version', got {line!r}")
            deps.add(Dependency(words[1], f"{rel}:require", spec=words[2]), dev=indirect)
    if block is not None:
        raise ManifestError(f"{rel}: a {block} ( block is never closed", context={"file": rel})
    if module is None:
        raise ManifestError(f"{rel} has no module directive (expected 'module example.com/app')",
                            context={"file": rel})
    return GoMod(rel, module, go, toolchain, deps)
