"""stacks.build_layer: what goes into the deps layer and what is pruned from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.build_layer import PROVIDED, normalize, prune, requirement_name, runtime_requirements


@pytest.mark.parametrize(("spec", "name"), [
    ("pydantic-settings>=2.3,<3", "pydantic-settings"),
    ("GitPython>=3.1.40", "gitpython"),
    ("aws-lambda-powertools[tracer]>=3.0,<4", "aws-lambda-powertools"),
    ("typing_extensions ; python_version < '3.12'", "typing-extensions"),
])
def test_requirement_name(spec: str, name: str) -> None:
    assert requirement_name(spec) == name


def test_requirement_name_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="package name"):
        requirement_name(">=1.0")


def test_runtime_requirements_leave_out_what_lambda_and_powertools_provide(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pydantic>=2.7,<3", "pydantic-settings>=2.3", '
                         '"aws-lambda-powertools>=3", "boto3>=1.34", "GitPython>=3.1.40"]\n')
    assert runtime_requirements(pyproject) == ["pydantic-settings>=2.3", "GitPython>=3.1.40"]


def test_the_real_pyproject_needs_a_layer_for_gitpython_and_settings() -> None:
    names = {requirement_name(r) for r in runtime_requirements()}
    assert {"gitpython", "pydantic-settings"} <= names
    assert not names & PROVIDED


def _fake_dist(site: Path, dist: str, files: dict[str, str]) -> None:
    info = site / f"{dist}.dist-info"
    info.mkdir(parents=True)
    record = [f"{rel},sha256=x,1" for rel in files] + [f"{dist}.dist-info/RECORD,,"]
    for rel, content in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(content)
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_prune_removes_provided_distributions_only(tmp_path: Path) -> None:
    site = tmp_path / "python"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    _fake_dist(site, "pydantic_core-2.46.4", {"pydantic_core/__init__.py": "", "pydantic_core/_core.so": "bin"})
    _fake_dist(site, "pydantic_settings-2.16.3", {"pydantic_settings/__init__.py": ""})
    # A RECORD may name paths outside the target (console scripts): never follow them.
    (site / "pydantic_core-2.46.4.dist-info" / "RECORD").write_text(
        "pydantic_core/__init__.py,,\npydantic_core/_core.so,,\n../outside.txt,,\n")
    removed = prune(site, {"pydantic-core"})
    assert removed == ["pydantic-core"]
    assert not (site / "pydantic_core").exists()
    assert not (site / "pydantic_core-2.46.4.dist-info").exists()
    assert (site / "pydantic_settings" / "__init__.py").is_file()
    assert outside.read_text() == "keep"


def test_normalize() -> None:
    assert normalize("Typing_Extensions") == normalize("typing.extensions") == "typing-extensions"
