"""Analyze a checkout: run every detector in order and assemble a TechStack.

Pure with respect to the outside world: it reads the directory (through RepoFiles, which never
leaves it) and nothing else, so the same function serves the Lambda task, the CLI and the tests.
"""

from __future__ import annotations

from pathlib import Path

from hivemind.analysis.context import DetectionContext
from hivemind.analysis.detectors import discover
from hivemind.analysis.files import RepoFiles
from hivemind.errors import RepositoryNotFound, UnsupportedStack
from hivemind.models import TechStack

# TechStack fields filled from detector findings (everything but sources/warnings/other_manifests).
_FIELDS = ("language", "framework", "runtime_version", "package_manager", "build_command", "start_command",
           "release_command", "port", "reads_port_env", "health_path", "database", "embedded_database",
           "env_vars", "app_dir")


def run_detectors(files: RepoFiles) -> DetectionContext:
    """Run every discovered detector over ``files`` and return the filled context."""
    ctx = DetectionContext(files)
    for detector in discover():
        ctx.apply(detector.detect(ctx))
    return ctx


def analyze_directory(path: Path | str) -> TechStack:
    """What HiveMind understands of the app in ``path``; every non-null finding has a source.

    Raises UnsupportedStack when no app is recognisable, ManifestError when a manifest is broken.
    """
    root = Path(path)
    if not root.is_dir():
        raise RepositoryNotFound(f"{root} is not a directory", context={"path": str(root)})
    files = RepoFiles(root)
    ctx = run_detectors(files)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for name in _FIELDS:
        found = ctx.findings.get(name)
        if found is not None and found.value is not None:
            values[name] = found.value
            sources[name] = found.source
    missing = [name for name in ("language", "package_manager", "start_command", "port") if name not in values]
    if missing:  # a detector bug, or a stack no detector could finish: say so instead of a pydantic error
        raise UnsupportedStack(f"could not determine {', '.join(missing)} for the app",
                               context={"found": {k: str(v) for k, v in values.items()}})
    warnings = list(ctx.warnings)
    if files.escaping_links:
        links = ", ".join(files.escaping_links[:5])
        warnings.append(f"ignored symlinks that point outside the repository: {links}")
    if files.truncated:
        warnings.append(f"the repository has more than {len(files.files())} files; only those were read")
    return TechStack(**values, sources=sources, warnings=warnings, other_manifests=list(ctx.other_manifests))
