"""D005 build/start/release: Procfile first, then per-language rules; commands run on $PORT."""

from __future__ import annotations

import pytest
from hivemind.errors import UnsupportedStack

FLASK = "from flask import Flask\n{var} = Flask(__name__)\n"
FASTAPI = "from fastapi import FastAPI\n{var} = FastAPI()\n"
DJANGO_SETTINGS = "INSTALLED_APPS = []\nWSGI_APPLICATION = 'proj.wsgi.application'\nASGI_APPLICATION = 'proj.asgi.application'\n"
DJANGO = {"manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
          "proj/__init__.py": "", "proj/settings.py": DJANGO_SETTINGS, "proj/wsgi.py": "application = 1\n",
          "proj/asgi.py": "application = 1\n"}

CASES = [
    # node: main only if it exists; extension and folder index resolved like node does
    ({"package.json": {"main": "src/server.js"}, "src/server.js": "x"}, "node src/server.js", None),
    ({"package.json": {"main": "lib/app"}, "lib/app.js": "x"}, "node lib/app.js", None),
    ({"package.json": {"main": "lib"}, "lib/index.js": "x", "server.js": "x"}, "node lib/index.js", None),
    ({"package.json": {"main": "../outside.js"}, "index.js": "x"}, "node index.js", None),
    ({"package.json": {}, "server.js": "x", "app.js": "x", "index.js": "x"}, "node server.js", None),
    ({"package.json": {}, "app.js": "x", "index.js": "x"}, "node app.js", None),
    ({"package.json": {"scripts": {"start": "node a.js"}}, "bun.lockb": "x"}, "bun run start", None),
    ({"package.json": {"scripts": {"start": "node a.js"}}, "pnpm-lock.yaml": "x"}, "pnpm run start", None),
    ({"package.json": {"dependencies": {"next": "14"}, "scripts": {"build": "next build"}},
      "next.config.mjs": "export default {}"}, "npx next start -p $PORT", None),
    # python: the module and variable that hold the app, server by what is declared
    ({"requirements.txt": "flask\ngunicorn\n", "svc/http.py": FLASK.format(var="server")},
     "gunicorn svc.http:server --bind 0.0.0.0:$PORT", None),
    ({"requirements.txt": "flask\nwaitress\n", "app.py": FLASK.format(var="app")},
     "waitress-serve --listen=0.0.0.0:$PORT app:app", None),
    ({"requirements.txt": "flask\n", "app.py": FLASK.format(var="app")},
     "flask --app app:app run --host 0.0.0.0 --port $PORT", "development server"),
    ({"requirements.txt": "flask\ngunicorn\n",
      "factory.py": "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n"},
     "gunicorn factory:create_app() --bind 0.0.0.0:$PORT", None),
    ({"requirements.txt": "fastapi[standard]\n", "main.py": FASTAPI.format(var="app")},
     "uvicorn main:app --host 0.0.0.0 --port $PORT", None),
    ({"requirements.txt": "fastapi\n", "main.py": FASTAPI.format(var="app")},
     "uvicorn main:app --host 0.0.0.0 --port $PORT", "no ASGI server"),
    ({"requirements.txt": "fastapi\nhypercorn\n", "main.py": FASTAPI.format(var="service")},
     "hypercorn main:service --bind 0.0.0.0:$PORT", None),
    ({"requirements.txt": "django\ngunicorn\n", **DJANGO}, "gunicorn proj.wsgi:application --bind 0.0.0.0:$PORT", None),
    ({"requirements.txt": "django\nuvicorn\n", **DJANGO},
     "uvicorn proj.asgi:application --host 0.0.0.0 --port $PORT", None),
    ({"requirements.txt": "django\n", **DJANGO}, "python manage.py runserver 0.0.0.0:$PORT", "development server"),
    ({"requirements.txt": "requests\n", "run.py": "if __name__ == '__main__':\n    serve()\n"}, "python run.py", None),
    # Procfile web wins and may be the only thing there is
    ({"Procfile": "web: python server.py\n", "server.py": "print(1)\n"}, "python server.py", None),
    ({"requirements.txt": "fastapi\nuvicorn\n", "main.py": FASTAPI.format(var="app"),
      "Procfile": "web: uvicorn main:app --port $PORT --host 0.0.0.0 --workers 4\n"},
     "uvicorn main:app --port $PORT --host 0.0.0.0 --workers 4", None),
]


@pytest.mark.parametrize(("files", "start", "warning"), CASES)
def test_start_command(analyze, files, start, warning) -> None:
    stack = analyze(files)
    assert stack.start_command == start
    assert stack.sources["start_command"]
    if warning:
        assert any(warning in w for w in stack.warnings), stack.warnings


@pytest.mark.parametrize(("files", "build"), [
    ({"package.json": {"scripts": {"start": "node s.js"}}, "package-lock.json": "{}"}, None),
    ({"package.json": {"scripts": {"start": "node s.js", "build": "tsc"}}, "package-lock.json": "{}"},
     "npm run build"),
    ({"package.json": {"scripts": {"start": "node s.js", "build": "tsc"}}}, "npm run build"),
    ({"package.json": {"scripts": {"start": "x"}}, "yarn.lock": "# yarn lockfile v1\n"}, None),
    ({"package.json": {"scripts": {"start": "x"}}, "bun.lock": "{}"}, None),
    ({"requirements.txt": "flask\n", "app.py": "if __name__ == '__main__':\n  pass\n"}, None),
    ({"go.mod": "module m\ngo 1.22\n", "main.go": "package main\nfunc main() {}\n"}, "go build -o ./bin/app ."),
    ({"go.mod": "module example.com/x/api\ngo 1.22\n", "cmd/api/main.go": "package main\nfunc main() {}\n",
      "internal/x.go": "package internal\n"}, "go build -o ./bin/app ./cmd/api"),
])
def test_build_command(analyze, files, build) -> None:
    assert analyze(files).build_command == build


def test_go_several_commands_pick_the_one_that_serves(analyze) -> None:
    stack = analyze({
        "go.mod": "module example.com/tool\ngo 1.22\n",
        "cmd/aaa-cli/main.go": "package main\nfunc main() {}\n",
        "cmd/worker/main.go": 'package main\nimport "net/http"\nfunc main() { http.ListenAndServe(":8080", nil) }\n',
    })
    assert stack.build_command == "go build -o ./bin/app ./cmd/worker"
    assert stack.start_command == "./bin/app"
    assert any("several commands" in w for w in stack.warnings)


def test_procfile_release_is_a_separate_step(analyze) -> None:
    stack = analyze({"requirements.txt": "flask\ngunicorn\n", "app.py": FLASK.format(var="app"),
                     "Procfile": "release: ./migrate.sh\nweb: gunicorn app:app\n"})
    assert (stack.start_command, stack.release_command) == ("gunicorn app:app", "./migrate.sh")
    assert stack.sources["release_command"] == "Procfile:release"


@pytest.mark.parametrize(("files", "fragment"), [
    ({"package.json": {"main": "missing.js"}}, "no scripts.start"),
    ({"requirements.txt": "requests\n", "lib.py": "x = 1\n"}, "no Django settings"),
    ({"go.mod": "module m\ngo 1.22\n", "lib.go": "package lib\n"}, "no package main"),
])
def test_no_start_entry_is_unsupported(analyze, files, fragment) -> None:
    with pytest.raises(UnsupportedStack) as info:
        analyze(files)
    assert fragment in str(info.value)
    assert "Procfile" in info.value.remediation
