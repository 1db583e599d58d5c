"""D001 language: which manifest is the app; malformed manifests; no app at all."""

from __future__ import annotations

import pytest
from hivemind.errors import ManifestError, UnsupportedStack

FLASK_APP = "from flask import Flask\napp = Flask(__name__)\n"


def test_manifest_with_a_framework_wins_and_others_are_reported(analyze) -> None:
    stack = analyze({"package.json": {"devDependencies": {"eslint": "9"}}, "go.mod": "module m\ngo 1.22\n",
                     "requirements.txt": "flask\ngunicorn\n", "app.py": FLASK_APP})
    assert stack.language == "python"
    assert stack.sources["language"] == "requirements.txt"
    assert stack.other_manifests == ["package.json", "go.mod"]


def test_tie_between_two_apps_is_a_warning(analyze) -> None:
    stack = analyze({"package.json": {"dependencies": {"express": "4"}}, "server.js": "require('express')\n",
                     "requirements.txt": "flask\ngunicorn\n", "app.py": FLASK_APP})
    assert stack.language == "node"
    assert any("look like the app" in w for w in stack.warnings)


def test_procfile_breaks_the_tie(analyze) -> None:
    stack = analyze({"package.json": {"dependencies": {"express": "4"}}, "server.js": "require('express')\n",
                     "requirements.txt": "flask\ngunicorn\n", "app.py": FLASK_APP,
                     "Procfile": "web: gunicorn app:app\n"})
    assert stack.language == "python"
    assert stack.other_manifests == ["package.json"]


def test_app_in_a_top_level_folder(analyze) -> None:
    stack = analyze({"README.md": "x", "api/go.mod": "module m\ngo 1.22\n",
                     "api/main.go": "package main\nfunc main() {}\n", "docs/package.json": {"scripts": {"start": "x"}}})
    assert (stack.language, stack.app_dir, stack.build_command) == ("go", "api", "go build -o ./bin/app .")


def test_procfile_only_python_app(analyze) -> None:
    stack = analyze({"Procfile": "web: gunicorn app:app\n"})
    assert (stack.language, stack.package_manager, stack.sources["language"]) == ("python", "pip", "Procfile:web")


@pytest.mark.parametrize("files", [{}, {"README.md": "hi"}, {"index.html": "<p>"}, {"Procfile": "web: ./run.sh\n"},
                                   {"node_modules/x/package.json": {"main": "i.js"}, "node_modules/x/i.js": "x"}])
def test_no_recognisable_app(analyze, files) -> None:
    with pytest.raises(UnsupportedStack) as info:
        analyze(files)
    assert "no recognisable app" in str(info.value)


@pytest.mark.parametrize(("files", "fragment"), [
    ({"package.json": "{\"name\": \"x\",,}"}, "package.json is not valid JSON"),
    ({"package.json": "[1, 2]"}, "package.json must hold a JSON object"),
    ({"package.json": {"dependencies": ["express"]}}, "package.json: \"dependencies\" must be an object"),
    ({"package.json": {"scripts": {"start": 1}}}, "package.json: script 'start' must be a string"),
    ({"pyproject.toml": "[project\nname = 'x'\n"}, "pyproject.toml is not valid TOML"),
    ({"pyproject.toml": "[project]\ndependencies = 'flask'\n"}, "pyproject.toml: project.dependencies must be a list"),
    ({"pyproject.toml": "[project]\ndependencies = ['flask 2.0']\n", "app.py": ""}, "pyproject.toml: project.dependencies"),
    ({"Pipfile": "[packages\n"}, "Pipfile is not valid TOML"),
    ({"requirements.txt": "flask\n!!not a requirement\n"}, "requirements.txt line 2"),
    ({"setup.py": "setup(install_requires=[\n"}, "setup.py is not valid Python"),
    ({"go.mod": "module m\ngo 1.22\nrequir github.com/x/y v1\n"}, "go.mod line 3: unknown directive 'requir'"),
    ({"go.mod": "go 1.22\n"}, "go.mod has no module directive"),
    ({"go.mod": "module m\nrequire (\n  github.com/x/y v1\n"}, "go.mod: a require ( block is never closed"),
    ({"go.mod": "module m\ngo one.two\n"}, "go.mod line 2: go directive needs a version"),
])
def test_malformed_manifest_names_the_file(analyze, files, fragment) -> None:
    with pytest.raises(ManifestError) as info:
        analyze(files)
    assert fragment in str(info.value)
    assert info.value.context["file"]
