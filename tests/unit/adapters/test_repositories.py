"""fetch_repository against real git repositories made in tmp_path (no network)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hivemind.adapters.repositories import Checkout, fetch_repository
from hivemind.analysis import analyze_directory
from hivemind.errors import (
    EmptyRepository,
    InvalidRepositoryUrl,
    RefNotFound,
    RepositoryNotFound,
    RepositoryTooLarge,
)

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """main: v1 (tag v1.0) -> v2; branch feature: a Flask app."""
    repo = tmp_path_factory.mktemp("origin") / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    first = commit(repo, {"package.json": '{"scripts": {"start": "node server.js"}}', "server.js": "// v1\n"}, "v1")
    git(repo, "tag", "-a", "v1.0", "-m", "release 1")
    second = commit(repo, {"server.js": "// v2\nrequire('express');\n"}, "v2")
    git(repo, "checkout", "-q", "-b", "feature")
    feature = commit(repo, {"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n",
                            "package.json": "{}"}, "feature")
    git(repo, "checkout", "-q", "main")
    return {"path": repo, "first": first, "second": second, "feature": feature}


@pytest.mark.parametrize(("how", "ref", "expect", "content", "shallow"), [
    ("path", None, "second", "// v2", True),
    ("file", None, "second", "// v2", True),
    ("path", "main", "second", "// v2", True),
    ("file", "feature", "feature", "// v2", True),
    ("path", "v1.0", "first", "// v1", True),
    ("file", "refs/tags/v1.0", "first", "// v1", True),
    ("path", "first", "first", "// v1", True),
    # an abbreviated sha cannot be fetched by itself: the branches are fetched to resolve it
    ("file", "first-short", "first", "// v1", False),
    ("path", "second-short", "second", "// v2", True),  # a branch tip: resolved from ls-remote, fetched shallow
])
def test_fetch_refs(origin, tmp_path: Path, how: str, ref: str | None, expect: str, content: str,
                    shallow: bool) -> None:
    repo: Path = origin["path"]
    source = str(repo) if how == "path" else repo.as_uri()
    if ref in ("first", "second"):
        ref = origin[ref]
    elif ref and ref.endswith("-short"):
        ref = origin[ref.removesuffix("-short")][:10]
    checkout = fetch_repository(source, ref, tmp_path / "out")
    assert isinstance(checkout, Checkout)
    assert checkout.commit == origin[expect] and len(checkout.commit) == 40
    assert (checkout.path / "server.js").read_text().startswith(content)
    assert checkout.ref == ref
    assert checkout.size_bytes == sum(p.stat().st_size for p in checkout.path.rglob("*")
                                      if p.is_file() and ".git" not in p.relative_to(checkout.path).parts)
    if shallow:
        assert git(checkout.path, "rev-list", "--count", "HEAD") == "1"


def test_fetched_checkout_is_analysable(origin, tmp_path: Path) -> None:
    checkout = fetch_repository(str(origin["path"]), "feature", tmp_path / "out")
    stack = analyze_directory(checkout.path)
    assert (stack.language, stack.framework) == ("python", "flask")


def test_unknown_ref_lists_what_exists(origin, tmp_path: Path) -> None:
    with pytest.raises(RefNotFound) as info:
        fetch_repository(str(origin["path"]), "nope", tmp_path / "out")
    assert "'nope'" in str(info.value)
    assert "main" in info.value.context["branches"] and "v1.0" in info.value.context["tags"]
    assert not (tmp_path / "out").exists()


def test_unknown_commit(origin, tmp_path: Path) -> None:
    with pytest.raises(RefNotFound):
        fetch_repository(origin["path"].as_uri(), "0" * 40, tmp_path / "out")


@pytest.mark.parametrize("ref", ["--upload-pack=x", "a..b", "bad ref", "x~1"])
def test_invalid_ref_is_rejected_before_git_runs(origin, tmp_path: Path, ref: str) -> None:
    with pytest.raises(RefNotFound) as info:
        fetch_repository(str(origin["path"]), ref, tmp_path / "out")
    assert "not a valid" in str(info.value)


def test_empty_repository(tmp_path: Path) -> None:
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    for source in (str(bare), bare.as_uri()):
        with pytest.raises(EmptyRepository):
            fetch_repository(source, None, tmp_path / "out")


def test_missing_repository(tmp_path: Path) -> None:
    for source in (str(tmp_path / "nope"), (tmp_path / "nope").as_uri()):
        with pytest.raises(RepositoryNotFound):
            fetch_repository(source, None, tmp_path / "out")


def test_unreachable_remote_hides_credentials(tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFound) as info:
        fetch_repository("https://bob:hunter2@127.0.0.1:9/acme/app.git", None, tmp_path / "out", timeout=20)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value.context)
    assert info.value.context["git_stderr"]


def test_size_limit(tmp_path: Path) -> None:
    repo = tmp_path / "big"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"blob.bin": os.urandom(1024 * 1024).hex()}, "2 MiB of hex")
    with pytest.raises(RepositoryTooLarge) as info:
        fetch_repository(str(repo), None, tmp_path / "out", max_size_mb=1)
    assert info.value.context["size_bytes"] > info.value.context["limit_bytes"] == 1024 * 1024
    assert "over the 1.0 MB limit" in str(info.value)
    assert not (tmp_path / "out").exists()
    assert fetch_repository(str(repo), None, tmp_path / "ok", max_size_mb=3).size_bytes == 2 * 1024 * 1024


def test_plain_folder_is_copied_with_a_content_id(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    (folder / "node_modules" / "x").mkdir(parents=True)
    (folder / "node_modules" / "x" / "index.js").write_text("x" * 1000)
    (folder / "server.js").write_text("require('http')\n")
    (folder / "package.json").write_text("{}")
    os.symlink("/etc/passwd", folder / "passwd")
    first = fetch_repository(str(folder), None, tmp_path / "a")
    again = fetch_repository(str(folder), None, tmp_path / "b")
    assert first.commit == again.commit and first.commit.startswith("worktree-") and len(first.commit) == 21
    assert (first.path / "server.js").exists() and not (first.path / "node_modules").exists()
    assert (first.path / "passwd").is_symlink()  # copied as a link, never followed
    (folder / "server.js").write_text("require('http') // changed\n")
    assert fetch_repository(str(folder), None, tmp_path / "c").commit != first.commit
    with pytest.raises(RefNotFound):
        fetch_repository(str(folder), "main", tmp_path / "d")


def test_plain_folder_size_limit(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "big.txt").write_text("x" * (2 * 1024 * 1024))
    with pytest.raises(RepositoryTooLarge):
        fetch_repository(str(folder), None, tmp_path / "out", max_size_mb=1)


def test_destination_must_be_new_or_empty(origin, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(InvalidRepositoryUrl):
        fetch_repository(str(origin["path"]), None, tmp_path / "busy")
    (tmp_path / "empty").mkdir()
    assert fetch_repository(str(origin["path"]), None, tmp_path / "empty").commit == origin["second"]


def test_invalid_url_is_rejected_before_git(tmp_path: Path) -> None:
    with pytest.raises(InvalidRepositoryUrl):
        fetch_repository("ext::sh -c 'touch /tmp/pwned'", None, tmp_path / "out")
    assert not (tmp_path / "out").exists()
