"""Fetch a repository into a local folder: the only module that imports GitPython.

``fetch_repository`` gives one shallow checkout of one ref (branch, tag or commit) and a
``Checkout`` describing it. Every failure becomes one of the typed errors in
``hivemind.errors`` with a one-line message; git's own output goes in ``context`` after
credentials are stripped, never in the message.

Safety: git never prompts (GIT_TERMINAL_PROMPT=0, GIT_ASKPASS=/bin/true, ssh BatchMode=yes),
every command has a timeout, remote-helper transports (``ext::``) are refused and disabled, and
the checkout's size (without .git) is bounded.

A local directory that is *not* a git repository is copied as it is (so an uncommitted folder
can be deployed) except for dependency and cache folders the build recreates (node_modules,
virtualenvs, __pycache__); its ``commit`` is ``worktree-<first 12 hex of a sha256 over the copied
files' paths, modes and contents>``, stable for the same content. A local path that *is* a git
repository is cloned like a remote one: its committed state, not uncommitted changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

from git.cmd import Git
from git.exc import GitCommandNotFound
from pydantic import BaseModel, ConfigDict, Field

from hivemind.analysis.source import Source, classify_source, redact, validate_source
from hivemind.errors import (
    EmptyRepository,
    HiveMindError,
    InvalidRepositoryUrl,
    RefNotFound,
    RepositoryNotFound,
    RepositoryTooLarge,
)

__all__ = ["Checkout", "fetch_repository", "validate_source", "directory_size"]

DEFAULT_TIMEOUT_S = 120.0
LIST_TIMEOUT_S = 30.0
MAX_CONTEXT_CHARS = 2000
# Not copied from an uncommitted local folder: the build recreates them, and they are large and
# machine-specific.
WORKTREE_SKIP = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache",
                           ".pytest_cache", ".ruff_cache", ".tox", ".next"})
_REF_RE = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[^\x00-\x20~^:?*\[\\\x7f]{1,255}(?<!\.lock)(?<![/.])$")
_SHA_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")
_NOT_FOUND_HINTS = (
    "does not appear to be a git repository", "repository not found", "could not read from remote",
    "not found", "unable to access", "could not resolve host", "connection refused", "authentication failed",
    "permission denied", "no such file or directory", "connection timed out", "host key verification failed",
    "could not read username",
)


class Checkout(BaseModel):
    """A fetched repository: where it is and exactly what it is."""

    model_config = ConfigDict(frozen=True)

    path: Path
    commit: str = Field(description="full commit sha, or worktree-<12 hex> for a copied folder")
    ref: str | None = Field(description="the ref asked for (None = the default branch)")
    source: str = Field(description="the repository, credentials removed")
    size_bytes: int = Field(ge=0, description="size of the checkout without .git")


# --- running git --------------------------------------------------------------------------------
def _git_env() -> dict[str, str]:
    """An environment in which git can never stop to ask for anything."""
    return {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/true",
        "SSH_ASKPASS": "/bin/true",
        "GCM_INTERACTIVE": "never",
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o ConnectTimeout=20 -o StrictHostKeyChecking=accept-new",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
        "LANGUAGE": "C",
    }


# `-c` options on every call: no remote-helper transports, no hooks from anywhere.
_SAFE_OPTIONS = ("-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never", "-c", "core.hooksPath=/dev/null",
                 "-c", "advice.detachedHead=false", "-c", "init.defaultBranch=main")


def _git(args: list[str], *, cwd: Path | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> tuple[int, str, str]:
    """Run git with the safe options; return (status, stdout, stderr). Never raises on failure."""
    runner = Git(str(cwd) if cwd else None)
    try:
        status, out, err = runner.execute(
            ["git", *_SAFE_OPTIONS, *args],
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=timeout,
            env=_git_env(),
        )
    except GitCommandNotFound as exc:  # pragma: no cover - git is part of the image
        raise RepositoryNotFound("git is not installed on this machine",
                                 remediation="Install git and try again.") from exc
    return int(status or 0), str(out or ""), str(err or "")


def _context(source: Source, stderr: str, **extra: Any) -> dict[str, Any]:
    text = redact(stderr.strip())
    return {"source": source.display, "git_stderr": text[-MAX_CONTEXT_CHARS:], **extra}


def _timed_out(stderr: str) -> bool:
    return stderr.lstrip().startswith("Timeout:")


def _unreachable(source: Source, stderr: str, timeout: float) -> RepositoryNotFound:
    if _timed_out(stderr):
        return RepositoryNotFound(f"git did not answer within {timeout:g} s for {source.display}",
                                  remediation="Check that the host is reachable from here, or try again later.",
                                  context=_context(source, stderr))
    return RepositoryNotFound(f"repository {source.display} not found or not reachable",
                              context=_context(source, stderr))


# --- listing refs ----------------------------------------------------------------------------------
def _list_refs(source: Source, timeout: float) -> tuple[dict[str, str], str | None]:
    """{refname: sha} and the branch HEAD points to, from ``git ls-remote --symref``."""
    status, out, err = _git(["ls-remote", "--symref", "--", source.url], timeout=min(timeout, LIST_TIMEOUT_S))
    if status != 0:
        raise _unreachable(source, err, min(timeout, LIST_TIMEOUT_S))
    refs: dict[str, str] = {}
    head_branch = None
    for line in out.splitlines():
        if line.startswith("ref: "):
            target, _, name = line[5:].partition("\t")
            if name == "HEAD":
                head_branch = target
            continue
        sha, _, name = line.partition("\t")
        if sha and name:
            refs[name] = sha
    return refs, head_branch


def _choose_ref(source: Source, ref: str | None, refs: dict[str, str]) -> tuple[str, str | None]:
    """('branch'|'tag'|'sha', what to fetch) for ``ref`` against the advertised refs."""
    if ref is None:
        if "HEAD" not in refs:
            branches = sorted(n.removeprefix("refs/heads/") for n in refs if n.startswith("refs/heads/"))
            raise RefNotFound(
                f"{source.display} has no default branch (HEAD); give --ref, e.g. {', '.join(branches[:5])}",
                context={"source": source.display, "branches": branches[:20]},
            )
        return "head", None
    if ref.startswith("refs/") and ref in refs:
        return ("tag" if ref.startswith("refs/tags/") else "branch"), ref.split("/", 2)[2]
    if f"refs/heads/{ref}" in refs:
        return "branch", ref
    if f"refs/tags/{ref}" in refs:
        return "tag", ref
    if _SHA_RE.match(ref):
        return "sha", ref.lower()
    branches = sorted(n.removeprefix("refs/heads/") for n in refs if n.startswith("refs/heads/"))
    tags = sorted(n.removeprefix("refs/tags/") for n in refs if n.startswith("refs/tags/") and not n.endswith("^{}"))
    raise RefNotFound(
        f"ref {ref!r} not found in {source.display} (no such branch, tag or commit)",
        context={"source": source.display, "ref": ref, "branches": branches[:20], "tags": tags[:20]},
    )


# --- fetching ---------------------------------------------------------------------------------------
def _clone_url(source: Source) -> str:
    """git ignores --depth for plain local paths; a file:// URL makes local clones shallow too."""
    if source.kind == "local":
        return Path(source.url).resolve().as_uri()
    return source.url


def _fetch_git(source: Source, ref: str | None, dest: Path, timeout: float) -> str:
    refs, _ = _list_refs(source, timeout)
    if not refs:
        raise EmptyRepository(f"repository {source.display} is empty (it has no commits)",
                              context={"source": source.display})
    kind, name = _choose_ref(source, ref, refs)
    url = _clone_url(source)
    if kind in ("head", "branch", "tag"):
        args = ["clone", "--depth", "1", "--single-branch", "--no-tags", "--quiet"]
        if name is not None:
            args += ["--branch", name]
        status, _, err = _git([*args, "--", url, str(dest)], timeout=timeout)
        if status != 0:
            if "not found in upstream" in err.lower():
                raise RefNotFound(f"ref {ref!r} not found in {source.display}", context=_context(source, err, ref=ref))
            raise _unreachable(source, err, timeout)
    else:
        _fetch_commit(source, url, str(name), dest, refs, timeout)
    status, out, err = _git(["rev-parse", "--verify", "HEAD^{commit}"], cwd=dest, timeout=LIST_TIMEOUT_S)
    if status != 0:
        raise EmptyRepository(f"repository {source.display} has no commit at {ref or 'HEAD'}",
                              context=_context(source, err))
    return out.strip()


def _fetch_commit(source: Source, url: str, sha: str, dest: Path, refs: dict[str, str], timeout: float) -> None:
    """Check out one commit: shallow fetch of a full sha; an abbreviated one needs the history."""
    dest.mkdir(parents=True, exist_ok=True)
    for args in (["init", "--quiet"], ["remote", "add", "origin", url]):
        status, _, err = _git(args, cwd=dest, timeout=LIST_TIMEOUT_S)
        if status != 0:
            raise RepositoryNotFound(f"could not prepare a checkout of {source.display}", context=_context(source, err))
    tip = next((full for full in refs.values() if full.startswith(sha)), None)
    wanted = tip or sha
    if len(wanted) == 40:
        status, _, err = _git(["fetch", "--depth", "1", "--quiet", "origin", wanted], cwd=dest, timeout=timeout)
    else:
        status, err = 1, "abbreviated sha"
    if status != 0 and not _timed_out(err):
        # The server refused a sha it does not advertise, or the sha is abbreviated: fetch the
        # branches and tags (full history) and look for the commit there.
        status, _, err = _git(["fetch", "--quiet", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"],
                              cwd=dest, timeout=timeout)
        if status != 0:
            raise _unreachable(source, err, timeout)
        status, out, err = _git(["rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}"], cwd=dest,
                                timeout=LIST_TIMEOUT_S)
        if status != 0:
            raise RefNotFound(f"commit {sha!r} not found in {source.display}",
                              context=_context(source, err, ref=sha))
        wanted = out.strip()
    elif status != 0:
        raise _unreachable(source, err, timeout)
    else:
        wanted = "FETCH_HEAD"
    status, _, err = _git(["checkout", "--quiet", "--detach", wanted], cwd=dest, timeout=timeout)
    if status != 0:
        raise RefNotFound(f"commit {sha!r} could not be checked out from {source.display}",
                          context=_context(source, err, ref=sha))


def _copy_worktree(src: Path, dest: Path, max_bytes: int) -> tuple[str, int]:
    """Copy a plain folder (symlinks as links, never followed); return (content id, size)."""
    size = directory_size(src, skip=WORKTREE_SKIP)
    if size > max_bytes:
        raise RepositoryTooLarge(
            f"{src} is {_mb(size)} MB, over the {_mb(max_bytes)} MB limit",
            context={"size_bytes": size, "limit_bytes": max_bytes, "source": str(src)},
        )
    digest = hashlib.sha256()
    dest.mkdir(parents=True, exist_ok=True)
    for folder, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in WORKTREE_SKIP)
        rel_folder = Path(folder).relative_to(src)
        for dirname in dirnames:
            target = dest / rel_folder / dirname
            if (Path(folder) / dirname).is_symlink():
                target.symlink_to(os.readlink(Path(folder) / dirname))
                digest.update(f"L {rel_folder / dirname} {os.readlink(Path(folder) / dirname)}\0".encode())
            else:
                target.mkdir(exist_ok=True)
        for filename in sorted(filenames):
            path = Path(folder) / filename
            rel = rel_folder / filename
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                link = os.readlink(path)
                (dest / rel).symlink_to(link)
                digest.update(f"L {rel.as_posix()} {link}\0".encode())
            elif stat.S_ISREG(info.st_mode):
                shutil.copy2(path, dest / rel, follow_symlinks=False)
                digest.update(f"F {rel.as_posix()} {info.st_mode & 0o111 != 0}\0".encode())
                with path.open("rb") as handle:
                    for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(chunk)
                digest.update(b"\0")
    return f"worktree-{digest.hexdigest()[:12]}", size


def directory_size(root: Path, *, skip: frozenset[str] = frozenset({".git"})) -> int:
    """Bytes of regular files under ``root`` (symlinks count as links; ``skip`` folders left out)."""
    total = 0
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip and not (Path(folder) / d).is_symlink()]
        for filename in filenames:
            try:
                info = (Path(folder) / filename).lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _is_git_repository(path: Path) -> bool:
    """A working tree with .git at its top, or a bare repository."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _prepare_dest(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidRepositoryUrl(f"destination {dest} exists and is not an empty folder",
                                   remediation="Give an empty or new destination folder.")
    dest.parent.mkdir(parents=True, exist_ok=True)


def fetch_repository(source: str, ref: str | None, dest: Path, *, max_size_mb: int = 200,
                     timeout: float = DEFAULT_TIMEOUT_S) -> Checkout:
    """Fetch ``ref`` of ``source`` into ``dest`` (a new or empty folder); shallow, one ref.

    Raises InvalidRepositoryUrl, RepositoryNotFound, RefNotFound, EmptyRepository or
    RepositoryTooLarge. On failure ``dest`` is left as it was found (removed if it was created).
    """
    parsed = classify_source(source)
    if ref is not None and not (_REF_RE.match(ref) or _SHA_RE.match(ref)):
        raise RefNotFound(f"{ref!r} is not a valid branch, tag or commit name",
                          remediation="Give a branch, tag or commit sha with --ref.", context={"ref": ref})
    dest = Path(dest)
    existed = dest.exists()
    _prepare_dest(dest)
    max_bytes = max_size_mb * 1024 * 1024
    try:
        local = Path(parsed.local_path) if parsed.local_path else None
        if local is not None and not local.exists():
            raise RepositoryNotFound(f"{parsed.display} does not exist", context={"source": parsed.display})
        if local is not None and not local.is_dir():
            raise RepositoryNotFound(f"{parsed.display} is not a folder", context={"source": parsed.display})
        if local is not None and parsed.kind == "local" and not _is_git_repository(local):
            if ref is not None:
                raise RefNotFound(f"{parsed.display} is not a git repository, so --ref {ref!r} cannot be used",
                                  remediation="Drop --ref, or commit the folder to git.", context={"ref": ref})
            commit, size = _copy_worktree(local, dest, max_bytes)
            return Checkout(path=dest, commit=commit, ref=None, source=parsed.display, size_bytes=size)
        commit = _fetch_git(parsed, ref, dest, timeout)
        size = directory_size(dest)
        if size > max_bytes:
            raise RepositoryTooLarge(
                f"repository {parsed.display} is {_mb(size)} MB at {ref or 'HEAD'}, over the {_mb(max_bytes)} MB limit",
                context={"size_bytes": size, "limit_bytes": max_bytes, "source": parsed.display},
            )
        return Checkout(path=dest, commit=commit, ref=ref, source=parsed.display, size_bytes=size)
    except HiveMindError:
        _cleanup(dest, existed)
        raise
    except OSError as exc:
        _cleanup(dest, existed)
        raise RepositoryNotFound(f"could not fetch {parsed.display}: {exc.strerror or exc}",
                                 context={"source": parsed.display}) from None


def _cleanup(dest: Path, existed: bool) -> None:
    if not dest.exists():
        return
    if existed:
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    else:
        shutil.rmtree(dest, ignore_errors=True)
