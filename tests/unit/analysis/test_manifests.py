"""Manifest parsing: names not substrings, runtime vs dev, errors naming the file."""

from __future__ import annotations

import pytest
from hivemind.analysis.files import RepoFiles
from hivemind.analysis.manifests import (
    normalise_python_name,
    parse_go_mod,
    parse_package_json,
    parse_pyproject,
    parse_requirement,
    parse_requirements,
)
from hypothesis import given
from hypothesis import strategies as st

NAME = st.from_regex(r"[a-z][a-z0-9]{0,6}(?:[-_.][a-z0-9]{1,4}){0,2}", fullmatch=True)


@pytest.mark.parametrize(("line", "name", "extras"), [
    ("Flask==3.0.3", "flask", set()),
    ("flask_cors>=4 ; python_version > '3.8'", "flask-cors", set()),
    ("uvicorn[standard]==0.30", "uvicorn", {"standard"}),
    ("Django >= 5.0, <6", "django", set()),
    ("requests @ https://example.invalid/r.whl", "requests", set()),
    ("-e git+https://example.invalid/x.git#egg=My_Pkg", "my-pkg", set()),
    ("gunicorn  # the server", "gunicorn", set()),
    ("zope.interface", "zope-interface", set()),
])
def test_parse_requirement(line: str, name: str, extras: set[str]) -> None:
    dep = parse_requirement(line, "requirements.txt")
    assert dep is not None and (dep.name, set(dep.extras)) == (name, extras)


@pytest.mark.parametrize("line", ["", "# flask", "   # django==5", "--index-url https://x.invalid/simple", "-c c.txt"])
def test_comments_and_options_are_not_requirements(line: str) -> None:
    assert parse_requirement(line, "requirements.txt") is None


@pytest.mark.parametrize("line", ["flask 2.0", "!!", "==1.0"])
def test_bad_requirement_raises(line: str) -> None:
    with pytest.raises(ValueError):
        parse_requirement(line, "requirements.txt")


@given(NAME, NAME)
def test_dependency_names_never_match_substrings(short: str, extra: str) -> None:
    longer = f"{short}-{extra}"
    deps_text = f"{longer}==1.0\n# {short}\n"
    names = {d.name for d in (parse_requirement(line, "r") for line in deps_text.splitlines()) if d}
    assert normalise_python_name(longer) in names
    assert normalise_python_name(short) not in names or normalise_python_name(short) == normalise_python_name(longer)
    pkg = parse_package_json(f'{{"dependencies": {{"{longer}": "1"}}}}', "package.json")
    assert not pkg.deps.has(short)
    assert pkg.deps.has(longer)


@given(NAME, st.sampled_from(["==1.0", ">=2", "~=3.1", "", "[extra]>=1", " ; python_version>'3'"]))
def test_requirement_name_round_trips(name: str, suffix: str) -> None:
    dep = parse_requirement(name + suffix, "r")
    assert dep is not None and dep.name == normalise_python_name(name)


def test_requirements_includes_are_followed_inside_the_repo(tmp_path) -> None:
    (tmp_path / "requirements.txt").write_text("-r base.txt\n--requirement=extra/more.txt\n-r ../../etc/passwd\nflask\n")
    (tmp_path / "base.txt").write_text("django\n-r requirements.txt\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "more.txt").write_text("gunicorn \\\n    --hash=sha256:abc\n")
    deps = parse_requirements(RepoFiles(tmp_path), "requirements.txt")
    assert set(deps.runtime) == {"flask", "django", "gunicorn"}
    assert deps.runtime["django"].source == "base.txt"


def test_package_json_dev_dependencies_are_kept_apart() -> None:
    pkg = parse_package_json('{"dependencies": {"fastify": "4"}, "devDependencies": {"express": "4"}}', "package.json")
    assert pkg.deps.has("fastify") and not pkg.deps.has("express") and "express" in pkg.deps.dev


def test_pyproject_groups(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname='x'\ndependencies=['FastAPI[standard]>=0.110']\n"
        "[project.optional-dependencies]\ndocs=['sphinx']\n"
        "[dependency-groups]\ndev=['pytest', {include-group='lint'}]\n"
        "[tool.poetry.group.test.dependencies]\nhypothesis='*'\n"
        "[tool.uv]\ndev-dependencies=['ruff']\n"
        "[tool.pdm.dev-dependencies]\nlint=['mypy']\n"
    )
    parsed = parse_pyproject(RepoFiles(tmp_path), "pyproject.toml")
    assert set(parsed.deps.runtime) == {"fastapi"} and parsed.deps.runtime["fastapi"].extras == {"standard"}
    assert set(parsed.deps.dev) == {"pytest", "hypothesis", "ruff", "mypy"}


def test_go_mod_directives() -> None:
    mod = parse_go_mod(
        "// comment\nmodule example.com/app // trailing\n\ngo 1.22.1\ntoolchain go1.22.3\n\n"
        "require (\n\tgithub.com/gin-gonic/gin v1.10.0\n\tgolang.org/x/net v0.1.0 // indirect\n"
        "\t// github.com/labstack/echo/v4 v4.0.0\n)\nrequire github.com/lib/pq v1.10.9\n"
        "replace github.com/x/y => ../y\nexclude (\n\tgithub.com/a/b v1.0.0\n)\n",
        "go.mod",
    )
    assert (mod.module, mod.go, mod.toolchain) == ("example.com/app", "1.22.1", "go1.22.3")
    assert set(mod.deps.runtime) == {"github.com/gin-gonic/gin", "github.com/lib/pq"}
    assert set(mod.deps.dev) == {"golang.org/x/net"}
