"""RepoFiles: never leaves the root, skips dependency folders, reads each file once, bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hivemind.analysis import analyze_directory
from hivemind.analysis.files import RepoFiles


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (outside / "pkg").mkdir()
    (outside / "pkg" / "index.js").write_text("process.env.STOLEN")
    for rel, text in {
        "app.py": "print(1)\n", "src/lib/util.py": "x = 1\n", "node_modules/express/index.js": "x",
        ".venv/lib/site.py": "x", "vendor/github.com/x/y.go": "x", ".git/config": "x", "docs/a.md": "x",
        "big.txt": "a" * 5000, "bin.dat": "ab\0cd",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.symlink(outside / "secret.txt", root / "leak.txt")
    os.symlink(outside / "pkg", root / "linked_pkg")
    os.symlink("../../outside/secret.txt", root / "src" / "relative_leak.txt")
    os.symlink("app.py", root / "alias.py")
    os.symlink(root / "src", root / "src_link")
    return root


def test_symlinks_outside_the_root_are_never_followed(tree: Path) -> None:
    files = RepoFiles(tree)
    for rel in ("leak.txt", "src/relative_leak.txt", "linked_pkg/index.js", "linked_pkg", "../outside/secret.txt",
                "/etc/passwd", "src/../../outside/secret.txt"):
        assert not files.exists(rel), rel
        assert files.read_text(rel) is None, rel
    assert "TOP SECRET" not in "".join(files.read_text(rel) or "" for rel in files.files())
    assert {"leak.txt", "src/relative_leak.txt"} <= set(files.escaping_links)


def test_symlinks_inside_the_root_are_read_but_linked_dirs_not_walked(tree: Path) -> None:
    files = RepoFiles(tree)
    assert files.read_text("alias.py") == "print(1)\n"
    assert "alias.py" in files.files()
    assert not any(rel.startswith("src_link/") for rel in files.files())


def test_walk_skips_dependency_and_vcs_folders(tree: Path) -> None:
    listed = RepoFiles(tree).files()
    assert "app.py" in listed and "src/lib/util.py" in listed and "docs/a.md" in listed
    for prefix in ("node_modules/", ".venv/", "vendor/", ".git/"):
        assert not any(rel.startswith(prefix) for rel in listed), prefix


@pytest.mark.parametrize(("pattern", "under", "expected"), [
    ("*.py", ".", ["alias.py", "app.py"]),
    ("**/*.py", ".", ["alias.py", "app.py", "src/lib/util.py"]),
    ("lib/*.py", "src", ["src/lib/util.py"]),
    ("*.go", ".", []),
])
def test_glob_keeps_star_inside_one_folder(tree: Path, pattern: str, under: str, expected: list[str]) -> None:
    assert RepoFiles(tree).glob(pattern, under) == expected


def test_walk_filters(tree: Path) -> None:
    files = RepoFiles(tree)
    assert list(files.walk(suffixes=(".py",), max_depth=0)) == ["alias.py", "app.py"]
    assert list(files.walk("src", suffixes=(".py",))) == ["src/lib/util.py"]
    assert list(files.walk(suffixes=(".py",), skip={"lib"})) == ["alias.py", "app.py"]


def test_reads_are_bounded_cached_and_binary_is_none(tree: Path) -> None:
    files = RepoFiles(tree)
    assert files.read_text("big.txt", max_bytes=100) == "a" * 100
    assert files.read_text("bin.dat") is None
    first = files.read_text("app.py")
    (tree / "app.py").write_text("changed\n")
    assert files.read_text("app.py") == first  # one read per file per analysis


def test_file_limit_is_reported(tree: Path) -> None:
    files = RepoFiles(tree, max_files=2)
    assert len(files.files()) == 2 and files.truncated


def test_analysis_ignores_an_escaping_symlink_and_says_so(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "server.js").write_text("require('express'); process.env.STOLEN_SECRET; app.listen(1234);\n")
    (outside / "package.json").write_text('{"dependencies": {"koa": "2"}}')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text('{"dependencies": {"express": "4"}, "scripts": {"start": "node index.js"}}')
    (repo / "index.js").write_text("require('express');\n")
    os.symlink(outside / "server.js", repo / "server.js")
    os.symlink(outside, repo / "lib")
    stack = analyze_directory(repo)
    assert stack.framework == "express"
    assert "STOLEN_SECRET" not in stack.env_vars and stack.port == 3000
    assert any("symlinks that point outside" in w and "server.js" in w for w in stack.warnings)


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        RepoFiles(tmp_path / "missing")
