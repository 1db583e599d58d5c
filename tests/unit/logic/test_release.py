"""Release archives are deterministic and never contain .git or follow symlinks."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from hivemind.logic.release import pack


def _tree(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("print('hi')\n")
    (root / "pkg" / "mod.py").write_text("x = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "big.js").write_text("//\n")


def test_same_tree_same_sha_and_mtime_does_not_matter(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _tree(a)
    _tree(b)
    os.utime(b / "app.py", (1, 1))
    assert pack(a, tmp_path / "a.tgz") == pack(b, tmp_path / "b.tgz")


def test_content_change_changes_sha(tmp_path: Path) -> None:
    a = tmp_path / "a"
    _tree(a)
    first = pack(a, tmp_path / "1.tgz")
    (a / "app.py").write_text("print('changed')\n")
    assert pack(a, tmp_path / "2.tgz") != first


def test_excludes_git_and_node_modules_and_keeps_symlinks_as_links(tmp_path: Path) -> None:
    a = tmp_path / "a"
    _tree(a)
    outside = tmp_path / "secret.txt"
    outside.write_text("do not ship\n")
    (a / "link").symlink_to(outside)
    pack(a, tmp_path / "r.tgz")
    with tarfile.open(tmp_path / "r.tgz") as tar:
        names = tar.getnames()
        link = tar.getmember("link")
    assert "app.py" in names and "pkg/mod.py" in names
    assert not any(n.startswith((".git", "node_modules")) for n in names)
    assert link.issym() and link.linkname == str(outside)  # stored as a link, content not copied
