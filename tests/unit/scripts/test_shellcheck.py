"""Every on-instance script passes shellcheck (they run as root on real instances)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hivemind.scripts.documents import SCRIPT_DIR

SCRIPTS = sorted(SCRIPT_DIR.glob("*.sh"))


def test_the_three_scripts_are_there() -> None:
    assert {p.name for p in SCRIPTS} >= {"install-release.sh", "harden.sh", "stop-app.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_is_clean(script) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    result = subprocess.run(
        [shellcheck, "-x", "--severity=style", str(script)],
        cwd=SCRIPT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_strict_mode_and_shebang(script) -> None:
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
