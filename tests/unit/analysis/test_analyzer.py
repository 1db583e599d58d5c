"""analyze_directory over the fixture repositories in tests/fixtures/repos (one row per rule/trap)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hivemind.analysis import analyze_directory
from hivemind.errors import UnsupportedStack

REPOS = Path(__file__).resolve().parents[2] / "fixtures" / "repos"

# fixture -> expected fields; a "sources" entry maps a field to the start of its source.
CASES: dict[str, dict[str, Any]] = {
    "node-express-pg": {
        "language": "node", "framework": "express", "runtime_version": "20.11.1", "package_manager": "npm",
        "build_command": None, "start_command": "npm start", "port": 3000, "reads_port_env": True,
        "health_path": "/health", "database": "postgres",
        # process.env.NODE_ENV/HOME are platform-provided; the test file's TEST_ONLY_VAR is not the app's
        "env_vars": ["API_KEY", "DATABASE_URL", "FEATURE_FLAG", "SESSION_SECRET"],
        "sources": {"runtime_version": ".nvmrc", "package_manager": "package-lock.json",
                    "database": "package.json:dependencies (pg)", "port": "server.js"},
    },
    # trap: express is only a devDependency; fastify is the runtime framework
    "node-dev-only": {
        "framework": "fastify", "start_command": "npm start", "build_command": None, "port": 8081,
        "reads_port_env": False, "health_path": "/healthz", "database": "redis",
        "sources": {"package_manager": "default:no-lockfile"},
    },
    # trap: "main" points to a missing file -> app.js
    "node-main-missing": {
        "framework": "koa", "start_command": "node app.js", "port": 4000, "database": "mongodb",
        "env_vars": ["MONGO_URL"], "warnings_contain": ["'main' points to 'dist/index.js'"],
    },
    # trap: package-lock.json and yarn.lock -> ambiguous, yarn chosen and said so
    "node-several-locks": {
        "framework": "hapi", "package_manager": "yarn", "build_command": "yarn run build",
        "start_command": "yarn run start", "port": 3300, "database": "mysql",
        "warnings_contain": ["several lockfiles (yarn.lock, package-lock.json)", "chose yarn"],
    },
    "node-next-prisma": {
        "framework": "next", "package_manager": "pnpm", "runtime_version": "20",
        "build_command": "pnpm run build", "start_command": "pnpm run start",
        "port": 3000, "reads_port_env": True, "database": "postgres", "health_path": "/",
        "sources": {"database": "prisma/schema.prisma:datasource.provider", "package_manager": "package.json:packageManager",
                    "runtime_version": ".node-version"},
    },
    "node-nest": {
        "framework": "nest", "package_manager": "yarn-berry", "start_command": "yarn run start:prod",
        "build_command": "yarn run build", "port": 3000, "reads_port_env": True,
    },
    # trap: Flask app held in `application` inside web/server.py; commented-out fastapi; dev file has django
    "python-flask-var": {
        "language": "python", "framework": "flask", "package_manager": "pip",
        "start_command": "gunicorn web.server:application --bind 0.0.0.0:$PORT", "build_command": None,
        "runtime_version": "3.12.3", "health_path": "/api/health", "database": "postgres",
        "env_vars": ["APP_DEBUG", "DATABASE_URL", "SECRET_KEY"],
        "sources": {"runtime_version": ".python-version", "start_command": "web/server.py",
                    "database": "requirements.txt (psycopg2-binary)"},
        "warnings_contain": ["3.12.3 from .python-version differs from 3.11.9 in runtime.txt"],
    },
    # trap: flask declared but unused; fastapi app `api` in api/service.py; uvicorn.run(port=8001)
    "python-fastapi-unused": {
        "framework": "fastapi", "start_command": "uvicorn api.service:api --host 0.0.0.0 --port $PORT",
        "port": 8001, "health_path": "/healthz", "database": "redis",
        "warnings_contain": ["flask declared as a dependency but not imported"],
    },
    "python-django": {
        "framework": "django", "start_command": "gunicorn mysite.wsgi:application --bind 0.0.0.0:$PORT",
        "release_command": "python manage.py migrate --noinput", "port": 8000, "database": "postgres",
        "sources": {"start_command": "mysite/settings.py:WSGI_APPLICATION", "release_command": "Procfile:release",
                    "database": "mysite/settings.py:DATABASES.ENGINE", "port": "default:django"},
        "env_vars": ["DB_NAME", "DJANGO_SECRET_KEY"],
    },
    # trap: Procfile web overrides what the code would give (python app.py / gunicorn app:app)
    "python-procfile": {
        "start_command": "gunicorn app:app --workers 2 --bind 0.0.0.0:$PORT", "port": 5055,
        "reads_port_env": True, "release_command": None, "sources": {"start_command": "Procfile:web"},
    },
    # dev group declares flask; the runtime framework is starlette in a src layout
    "python-poetry": {
        "framework": "starlette", "package_manager": "poetry", "runtime_version": "^3.11",
        "start_command": "uvicorn svc.main:app --host 0.0.0.0 --port $PORT --app-dir src", "database": "postgres",
        "health_path": "/health", "port": 8000,
    },
    "python-pipenv": {
        "framework": "flask", "package_manager": "pipenv", "runtime_version": "3.11", "start_command": "python main.py",
        "port": 5000, "reads_port_env": True, "database": "mysql",
        "sources": {"runtime_version": "Pipfile:requires.python_version"},
    },
    "python-plain": {
        "framework": None, "start_command": "python server.py", "port": 8765, "database": None,
        "embedded_database": "sqlite",
    },
    "go-gin": {
        "language": "go", "framework": "gin", "runtime_version": "1.22.3", "package_manager": "go",
        "build_command": "go build -o ./bin/app .", "start_command": "./bin/app", "port": 8088, "reads_port_env": True,
        "health_path": "/healthz", "database": "postgres", "env_vars": ["API_TOKEN"],
        "sources": {"runtime_version": "go.mod:toolchain"},
    },
    # trap: gin commented out in go.mod; app in cmd/shop (cmd/migrate is not a server); test file port ignored
    "go-cmd": {
        "framework": "net/http", "build_command": "go build -o ./bin/app ./cmd/shop", "start_command": "./bin/app",
        "port": 9000, "reads_port_env": False, "database": "mysql", "health_path": "/health",
        "runtime_version": "1.21", "env_vars": ["MYSQL_DSN"],
    },
    # the root package.json is tooling only; the Flask app is the app
    "multi-manifest": {
        "language": "python", "framework": "flask", "start_command": "gunicorn app:app --bind 0.0.0.0:$PORT",
        "other_manifests": ["package.json"],
    },
    "compose-services": {
        "database": "postgres", "start_command": "python app.py", "port": 5000,
        "sources": {"database": "docker-compose.yml (service image postgres:16-alpine)"},
        "warnings_contain": ["also uses redis"],
    },
    # app in backend/; docs/package.json (a Next site) is not the app
    "subdir-app": {
        "app_dir": "backend", "framework": "express", "start_command": "node index.js", "port": 5050,
        "sources": {"language": "backend/package.json"},
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_repository(name: str) -> None:
    stack = analyze_directory(REPOS / name)
    expected = dict(CASES[name])
    sources = expected.pop("sources", {})
    warnings = expected.pop("warnings_contain", [])
    for field, value in expected.items():
        assert getattr(stack, field) == value, f"{name}: {field} = {getattr(stack, field)!r}, expected {value!r}"
    for field, prefix in sources.items():
        assert stack.sources.get(field, "").startswith(prefix), f"{name}: source of {field} = {stack.sources.get(field)!r}"
    for fragment in warnings:
        assert any(fragment in w for w in stack.warnings), f"{name}: no warning containing {fragment!r}: {stack.warnings}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_non_null_field_has_a_source(name: str) -> None:
    stack = analyze_directory(REPOS / name)
    for field in ("language", "framework", "runtime_version", "package_manager", "build_command", "start_command",
                  "release_command", "port", "database", "embedded_database"):
        if getattr(stack, field) is not None:
            assert stack.sources[field], field
    if stack.env_vars:
        assert stack.sources["env_vars"]


def test_fixture_table_covers_every_fixture() -> None:
    on_disk = {p.name for p in REPOS.iterdir() if p.is_dir()} - {"unsupported"}
    assert on_disk == set(CASES)


def test_no_app_is_unsupported() -> None:
    with pytest.raises(UnsupportedStack) as info:
        analyze_directory(REPOS / "unsupported")
    assert "package.json" in str(info.value) and "go.mod" in str(info.value)
    assert "index.html" in info.value.context["top_level_files"]


def test_stack_round_trips_through_json() -> None:
    stack = analyze_directory(REPOS / "node-express-pg")
    assert type(stack).model_validate_json(stack.model_dump_json()) == stack
