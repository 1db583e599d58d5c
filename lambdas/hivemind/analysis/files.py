"""A read-only, cached view of a checkout that never leaves it.

Every detector reads the repository through one ``RepoFiles`` so that:

* a symlink whose target resolves outside the root is never followed (a hostile repository could
  otherwise make HiveMind read ``/etc/passwd`` or the Lambda's credentials into a log);
* dependency and tool folders (node_modules, .git, virtualenvs, vendor, caches) are never walked,
  which keeps analysis of a small repository far under 50 ms;
* each file is read at most once, however many detectors look at it, and reads are size-bounded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath

# Folders never walked: dependencies, VCS data, virtualenvs, caches and build output of tools.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "bower_components", "jspm_packages", "vendor",
    "venv", ".venv", "env", ".env", "virtualenv", "__pycache__", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".tox", ".nox", "site-packages", ".next", ".nuxt", ".turbo", ".cache",
    ".yarn", ".pnpm-store", ".idea", ".vscode", "coverage", ".terraform", "cdk.out",
})
DEFAULT_MAX_BYTES = 256 * 1024
MAX_FILES = 5000
MAX_DEPTH = 12


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob to a regex: ``*`` and ``?`` stay inside one path segment, ``**/`` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class RepoFiles:
    """Read-only access to the files under ``root``; paths are POSIX strings relative to it."""

    def __init__(self, root: Path | str, *, max_files: int = MAX_FILES) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is not a directory")
        self._max_files = max_files
        self._texts: dict[tuple[str, int], str | None] = {}
        self._listing: list[str] | None = None
        self._dirs: set[str] | None = None
        self.escaping_links: list[str] = []
        self.truncated = False

    # --- paths ------------------------------------------------------------------------------
    def _inside(self, rel: str) -> Path | None:
        """The real path of ``rel`` when it exists and stays under the root, else None."""
        rel_path = PurePosixPath(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts:
            return None
        candidate = self.root.joinpath(*rel_path.parts) if rel_path.parts else self.root
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real != self.root and not real.is_relative_to(self.root):
            if candidate.is_symlink() and rel not in self.escaping_links:
                self.escaping_links.append(rel)
            return None
        return real

    def exists(self, rel: str) -> bool:
        """True when ``rel`` exists inside the root (a symlink leaving the root does not exist)."""
        return self._inside(rel) is not None

    def is_file(self, rel: str) -> bool:
        real = self._inside(rel)
        return real is not None and real.is_file()

    def is_dir(self, rel: str) -> bool:
        real = self._inside(rel)
        return real is not None and real.is_dir()

    # --- reading ----------------------------------------------------------------------------
    def read_text(self, rel: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
        """The file's text (UTF-8, undecodable bytes replaced), at most ``max_bytes`` of it.

        None when the file is missing, a directory, outside the root or binary (has a NUL byte in
        its first 8 KiB): callers treat all of these as "not there".
        """
        key = (rel, max_bytes)
        if key in self._texts:
            return self._texts[key]
        text: str | None = None
        real = self._inside(rel)
        if real is not None and real.is_file():
            try:
                with real.open("rb") as handle:
                    data = handle.read(max_bytes)
            except OSError:
                data = None
            if data is not None and b"\0" not in data[:8192]:
                text = data.decode("utf-8", errors="replace")
        self._texts[key] = text
        return text

    def size(self, rel: str) -> int | None:
        real = self._inside(rel)
        if real is None or not real.is_file():
            return None
        return real.stat().st_size

    # --- listing ----------------------------------------------------------------------------
    def _scan(self) -> None:
        """List every file once (bounded), skipping SKIP_DIRS and never entering symlinked dirs."""
        files: list[str] = []
        dirs: set[str] = {""}
        stack: list[tuple[Path, str, int]] = [(self.root, "", 0)]
        while stack:
            path, prefix, depth = stack.pop()
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError:
                continue
            subdirs = []
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                if entry.is_symlink():
                    if self._inside(rel) is not None and not entry.is_dir():
                        files.append(rel)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS and depth < MAX_DEPTH:
                        subdirs.append((Path(entry.path), rel + "/", depth + 1))
                        dirs.add(rel)
                elif entry.is_file(follow_symlinks=False):
                    files.append(rel)
                if len(files) >= self._max_files:
                    self.truncated = True
                    stack.clear()
                    break
            else:
                stack.extend(reversed(subdirs))
        self._listing = sorted(files)
        self._dirs = dirs

    def files(self) -> list[str]:
        """Every file under the root (relative POSIX paths, sorted), skipping SKIP_DIRS."""
        if self._listing is None:
            self._scan()
        assert self._listing is not None
        return self._listing

    def dirs(self) -> set[str]:
        if self._dirs is None:
            self._scan()
        assert self._dirs is not None
        return self._dirs

    def walk(self, under: str = ".", *, suffixes: Iterable[str] | None = None,
             max_depth: int | None = None, skip: Iterable[str] = ()) -> Iterator[str]:
        """Files below ``under`` (relative to the root), optionally filtered by suffix and depth.

        ``max_depth`` counts folders below ``under`` (0 = only its own files); ``skip`` names more
        folder names to leave out (e.g. ``tests``).
        """
        base = "" if under in (".", "") else under.strip("/") + "/"
        wanted = tuple(suffixes) if suffixes is not None else None
        skipped = set(skip)
        for rel in self.files():
            if not rel.startswith(base):
                continue
            rest = rel[len(base):]
            parts = rest.split("/")
            if max_depth is not None and len(parts) - 1 > max_depth:
                continue
            if skipped and any(part in skipped for part in parts[:-1]):
                continue
            if wanted is not None and not rest.endswith(wanted):
                continue
            yield rel

    def glob(self, pattern: str, under: str = ".") -> list[str]:
        """Files whose path relative to ``under`` matches ``pattern`` (``*`` stays in one folder)."""
        regex = _glob_regex(pattern)
        base = "" if under in (".", "") else under.strip("/") + "/"
        return [rel for rel in self.files() if rel.startswith(base) and regex.match(rel[len(base):])]

    def subdirs(self, under: str = ".") -> list[str]:
        """Immediate sub-folders of ``under`` that are walked (SKIP_DIRS left out), sorted."""
        base = "" if under in (".", "") else under.strip("/") + "/"
        return sorted(d for d in self.dirs() if d and d.startswith(base) and "/" not in d[len(base):])


def join(app_dir: str, rel: str) -> str:
    """Join a file name to an app folder, both relative POSIX paths ('.' is the root)."""
    return rel if app_dir in (".", "") else f"{app_dir.rstrip('/')}/{rel}"
