"""`hivemind analyze` and `hivemind plan` as a user runs them: JSON shape, template file, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hivemind.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def _git_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin"}
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=path, check=True, env=env)
    return path


@pytest.mark.parametrize(
    ("example", "language", "framework", "port", "database"),
    [
        ("flask-hello", "python", "flask", 8000, None),
        ("fastapi-postgres", "python", "fastapi", 8000, "postgres"),
        ("express-hello", "node", "express", 3000, None),
        ("go-hello", "go", "net/http", 8080, None),
    ],
)
def test_plan_json_has_the_documented_fields(capsys, example, language, framework, port, database) -> None:
    assert main(["plan", str(EXAMPLES / example), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    stack = out["stack"]
    assert (stack["language"], stack["framework"], stack["port"], stack["database"]) == (
        language, framework, port, database)
    for key in ("runtime_version", "package_manager", "start_command"):
        assert stack[key]
    assert out["plan"]["preset"] == "stage-1"
    assert all({"logical_id", "type"} <= set(r) for r in out["resources"])
    assert any(r["type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer" for r in out["resources"])
    assert (database is not None) == any(r["type"] == "AWS::RDS::DBInstance" for r in out["resources"])
    assert out["cost"]["monthly_usd"] == pytest.approx(sum(line["monthly_usd"] for line in out["cost"]["lines"]),
                                                       abs=0.05)


def test_plan_writes_the_template_and_production_costs_more(tmp_path, capsys) -> None:
    template = tmp_path / "t.json"
    assert main(["plan", str(EXAMPLES / "flask-hello"), "--json", "--template", str(template)]) == 0
    stage1 = json.loads(capsys.readouterr().out)
    body = json.loads(template.read_text())
    assert {r["logical_id"] for r in stage1["resources"]} == set(body["Resources"])
    assert main(["plan", str(EXAMPLES / "flask-hello"), "--json", "--preset", "production"]) == 0
    prod = json.loads(capsys.readouterr().out)
    assert prod["plan"]["preset"] == "production"
    assert prod["cost"]["monthly_usd"] > stage1["cost"]["monthly_usd"]


def test_analyze_json_from_a_git_url_at_a_ref(tmp_path, capsys) -> None:
    repo = _git_repo(tmp_path / "svc", {"requirements.txt": "flask\n",
                                         "web.py": "from flask import Flask\nserver = Flask(__name__)\n"})
    assert main(["analyze", f"file://{repo}", "--ref", "main", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stack"]["framework"] == "flask"
    assert "web:server" in out["stack"]["start_command"]
    assert len(out["commit"]) == 40


@pytest.mark.parametrize(
    ("argv_tail", "needle"),
    [
        (["not a url at all://"], ""),
        (["https://127.0.0.1:9/nothing.git"], "not found or not reachable"),
        (["{empty}"], ""),
        (["{repo}", "--ref", "no-such-branch"], "no-such-branch"),
        (["{noapp}"], ""),
        (["{badjson}"], "package.json"),
        (["{repo}", "--max-size-mb", "0"], ""),
    ],
)
def test_bad_input_is_one_clear_line_and_non_zero(tmp_path, argv_tail, needle) -> None:
    repo = _git_repo(tmp_path / "ok", {"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
    empty = tmp_path / "empty"
    empty.mkdir()
    subprocess.run(["git", "init", "-q", str(empty)], check=True)
    noapp = _git_repo(tmp_path / "noapp", {"README.md": "just docs\n"})
    badjson = _git_repo(tmp_path / "badjson", {"package.json": "{ not json"})
    subs = {"{repo}": str(repo), "{empty}": str(empty), "{noapp}": str(noapp), "{badjson}": str(badjson)}
    argv = [subs.get(a, a) for a in argv_tail]
    proc = subprocess.run([sys.executable, "-m", "hivemind", "analyze", *argv], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("error (")
    assert needle in proc.stderr
    assert "what to do:" in proc.stderr


def test_budget_makes_plan_fail_with_the_numbers(capsys) -> None:
    assert main(["plan", str(EXAMPLES / "go-hello"), "--budget", "5"]) == 1
    err = capsys.readouterr().err
    assert "above the budget $5.00/month" in err
