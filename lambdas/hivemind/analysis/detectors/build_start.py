"""D005 build and start: the commands that build the app and start it on $PORT.

The start command must work from the app folder on a Linux host where ``$PORT`` is set and the
dependencies are installed. Order: Procfile ``web`` (``release`` becomes the release command),
then per language:

* Node: ``scripts.start`` (Nest: ``scripts.start:prod``), ``main`` only when the file exists, then
  server.js / app.js / index.js; Next.js without a start script runs ``next start``.
* Python: Django from ``WSGI_APPLICATION``/``ASGI_APPLICATION`` with gunicorn or uvicorn when
  declared; Flask/FastAPI/Starlette from the module and variable that hold the app; else a
  module that runs itself under ``if __name__ == "__main__"``.
* Go: ``go build`` of the root ``package main``, else of ``cmd/<name>``; start ``./bin/app``.
"""

from __future__ import annotations

import re

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.manifests import Dependencies
from hivemind.analysis.rules import (
    ENTRY_FILES_NODE,
    ENTRY_FILES_PYTHON,
    PythonApp,
    code,
    dotted_to_target,
    find_django,
    find_python_apps,
    go_main_packages,
)
from hivemind.errors import UnsupportedStack

NODE_INSTALL = {
    "npm": ("npm ci", "npm install"),
    "yarn": ("yarn install --frozen-lockfile", "yarn install"),
    "yarn-berry": ("yarn install --immutable", "yarn install"),
    "pnpm": ("pnpm install --frozen-lockfile", "pnpm install"),
    "bun": ("bun install --frozen-lockfile", "bun install"),
}
NODE_RUN = {"npm": "npm run", "yarn": "yarn run", "yarn-berry": "yarn run", "pnpm": "pnpm run", "bun": "bun run"}
NODE_LOCKS = {"npm": ("package-lock.json", "npm-shrinkwrap.json"), "yarn": ("yarn.lock",),
              "yarn-berry": ("yarn.lock",), "pnpm": ("pnpm-lock.yaml",), "bun": ("bun.lock", "bun.lockb")}
GO_BINARY = "./bin/app"


def _relative_to_app(ctx: DetectionContext, rel: str) -> str:
    prefix = "" if ctx.app_dir == "." else ctx.app_dir.rstrip("/") + "/"
    return rel[len(prefix):] if rel.startswith(prefix) else rel


class BuildStartDetector(Detector):
    id = "D005"
    shortdesc = "Build, start and release commands"
    description = (
        "Procfile web first (release as a separate step); Node scripts.start, main (only if the file "
        "exists), server.js/app.js/index.js; Django WSGI/ASGI with gunicorn/uvicorn; Flask/FastAPI "
        "from the module and variable holding the app; Go root package main, else cmd/<name>."
    )
    tags = ("build", "start", "procfile")
    provides = ("build_command", "start_command", "release_command")
    requires = ("language", "app_dir", "framework", "package_manager")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        language = ctx.language
        if language == "node":
            self._node_build(ctx, result)
        elif language == "go":
            self._go_build(ctx, result)
        procfile = ctx.procfile()
        if procfile is not None:
            rel, processes = procfile
            if "release" in processes:
                result.set("release_command", processes["release"], f"{rel}:release")
            if "web" in processes:
                result.set("start_command", processes["web"], f"{rel}:web")
                ctx.extras["entry_file"] = self._entry_from_command(ctx, processes["web"])
                return result
        start = {"node": self._node_start, "python": self._python_start, "go": self._go_start}[language](ctx, result)
        if start is None:
            raise UnsupportedStack(
                f"found a {language} app in {ctx.source('language')} but no way to start it: "
                + {"node": "no scripts.start, no existing 'main' file and no server.js, app.js or index.js",
                   "python": "no Django settings, no module creating a Flask/FastAPI/Starlette app and no "
                             "app.py/main.py that runs a server",
                   "go": "no package main at the root or in cmd/<name>"}[language],
                remediation="Add a Procfile with a 'web: <command>' line that starts the app on $PORT.",
                context={"manifest": ctx.source("language")},
            )
        command, source, entry = start
        result.set("start_command", command, source)
        ctx.extras["entry_file"] = entry
        return result

    @staticmethod
    def _entry_from_command(ctx: DetectionContext, command: str) -> str | None:
        """The source file a start command names (``node server.js``, ``gunicorn web.app:app``)."""
        for word in command.split():
            word = word.split(":", 1)[0]
            for candidate in (word, word.replace(".", "/") + ".py"):
                if re.search(r"\.(?:[cm]?js|ts|py|go)$", candidate) and ctx.files.is_file(ctx.path(candidate)):
                    return ctx.path(candidate)
        return None

    # --- node --------------------------------------------------------------------------------
    def _node_build(self, ctx: DetectionContext, result: Detection) -> None:
        # Installing dependencies is the install script's job (it knows the package manager and
        # the lockfile); the build command is only the app's own build step, one command line.
        manager = ctx.value("package_manager")
        manifest = ctx.package_json()
        if manifest and "build" in manifest.scripts:
            result.set("build_command", f"{NODE_RUN[manager]} build", f"{manifest.path}:scripts.build")

    def _node_start(self, ctx: DetectionContext, result: Detection) -> tuple[str, str, str | None] | None:
        manager = ctx.value("package_manager")
        manifest = ctx.package_json()
        run = NODE_RUN[manager]
        scripts = manifest.scripts if manifest else {}
        if ctx.value("framework") == "nest" and "start:prod" in scripts:
            ctx.extras["start_script"] = scripts["start:prod"]
            return f"{run} start:prod", f"{manifest.path}:scripts.start:prod", self._script_entry(ctx, scripts["start:prod"])
        if "start" in scripts:
            ctx.extras["start_script"] = scripts["start"]
            start = "npm start" if manager == "npm" else f"{run} start"
            return start, f"{manifest.path}:scripts.start", self._script_entry(ctx, scripts["start"])
        if manifest and manifest.main:
            resolved = self._resolve_node(ctx, manifest.main)
            if resolved:
                return f"node {resolved}", f"{manifest.path}:main", ctx.path(resolved)
            result.warn(f"{manifest.path} 'main' points to {manifest.main!r}, which does not exist; "
                        "looked for server.js, app.js, index.js instead")
        for name in ENTRY_FILES_NODE:
            if ctx.files.is_file(ctx.path(name)):
                return f"node {name}", ctx.path(name), ctx.path(name)
        if ctx.value("framework") == "next":
            return "npx next start -p $PORT", f"default:next ({ctx.source('framework')})", None
        return None

    @staticmethod
    def _resolve_node(ctx: DetectionContext, main: str) -> str | None:
        """How node resolves ``main``: the file, then with .js, then as a folder's index.js."""
        main = main.removeprefix("./")
        if main.startswith("/") or ".." in main.split("/"):
            return None
        for candidate in (main, f"{main}.js", f"{main.rstrip('/')}/index.js"):
            if ctx.files.is_file(ctx.path(candidate)):
                return candidate
        return None

    @staticmethod
    def _script_entry(ctx: DetectionContext, script: str) -> str | None:
        match = re.search(r"\b(?:node|nodemon|ts-node|tsx)\s+(?:--?\S+\s+)*([\w./-]+\.(?:[cm]?js|ts))", script)
        return ctx.path(match.group(1)) if match and ctx.files.is_file(ctx.path(match.group(1))) else None

    # --- python ------------------------------------------------------------------------------
    def _python_start(self, ctx: DetectionContext, result: Detection) -> tuple[str, str, str | None] | None:
        deps = ctx.python_deps()
        framework = ctx.value("framework")
        if framework == "django":
            found = self._django(ctx, result)
            if found is not None:
                return found
        if framework in ("flask", "fastapi", "starlette"):
            apps = find_python_apps(ctx, framework)
            if apps:
                app = apps[0]
                if len(apps) > 1:
                    others = ", ".join(a.target for a in apps[1:4])
                    result.warn(f"several {framework} apps ({app.target}, {others}); chose {app.target}. "
                                "Add a Procfile 'web:' line to choose another.")
                return self._python_server(ctx, result, framework, app, deps), app.path, app.path
        return self._python_script(ctx, result)

    def _python_server(self, ctx: DetectionContext, result: Detection, framework: str, app: PythonApp,
                       deps: Dependencies) -> str:
        """The server command for a Flask/FastAPI/Starlette app object, by what is installed."""
        target = app.target
        asgi = framework in ("fastapi", "starlette")
        fastapi = deps.get("fastapi")
        has_uvicorn = deps.has("uvicorn") or (fastapi is not None and fastapi.extras & {"standard", "all"})
        if not asgi and deps.has("gunicorn"):
            return f"gunicorn {target} --bind 0.0.0.0:$PORT" + (f" --chdir {app.chdir}" if app.chdir else "")
        if not asgi and deps.has("waitress"):
            return f"waitress-serve --listen=0.0.0.0:$PORT {target}"
        if asgi and has_uvicorn:
            return f"uvicorn {target} --host 0.0.0.0 --port $PORT" + (f" --app-dir {app.chdir}" if app.chdir else "")
        if asgi and deps.has("hypercorn"):
            return f"hypercorn {target} --bind 0.0.0.0:$PORT"
        if app.main_block_runs_server and not app.chdir:
            return f"python {_relative_to_app(ctx, app.path)}"
        if asgi:
            result.warn("no ASGI server (uvicorn, hypercorn) is declared; add uvicorn to the dependencies "
                        "(the start command assumes it)")
            return f"uvicorn {target} --host 0.0.0.0 --port $PORT"
        result.warn("no production WSGI server (gunicorn, waitress) is declared; using Flask's development "
                    "server. Add gunicorn to the dependencies.")
        return f"flask --app {target} run --host 0.0.0.0 --port $PORT"

    def _django(self, ctx: DetectionContext, result: Detection) -> tuple[str, str, str | None] | None:
        deps = ctx.python_deps()
        project = find_django(ctx)
        wsgi = project.wsgi if project else None
        asgi = project.asgi if project else None
        if project and wsgi and deps.has("gunicorn"):
            return (f"gunicorn {dotted_to_target(wsgi)} --bind 0.0.0.0:$PORT", project.wsgi_source, project.settings)
        if project and asgi and deps.has("uvicorn"):
            return (f"uvicorn {dotted_to_target(asgi)} --host 0.0.0.0 --port $PORT", project.asgi_source,
                    project.settings)
        if project and wsgi and deps.has("uvicorn"):
            asgi_module = wsgi.rsplit(".", 2)[0] + ".asgi"
            if ctx.files.is_file(ctx.path(asgi_module.replace(".", "/") + ".py")):
                return (f"uvicorn {asgi_module}:application --host 0.0.0.0 --port $PORT", project.wsgi_source,
                        project.settings)
        if ctx.files.is_file(ctx.path("manage.py")):
            result.warn("no gunicorn or uvicorn is declared for Django; using `manage.py runserver` (a development "
                        "server). Add gunicorn to the dependencies.")
            return ("python manage.py runserver 0.0.0.0:$PORT", ctx.path("manage.py"),
                    project.settings if project else None)
        return None

    def _python_script(self, ctx: DetectionContext, result: Detection) -> tuple[str, str, str | None] | None:
        for name in ENTRY_FILES_PYTHON:
            rel = ctx.path(name)
            text = ctx.text(rel) if ctx.files.is_file(rel) else None
            if text and re.search(r"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""", text, re.MULTILINE):
                return f"python {name}", rel, rel
        return None

    # --- go ------------------------------------------------------------------------------------
    def _go_build(self, ctx: DetectionContext, result: Detection) -> None:
        mains = go_main_packages(ctx)
        package = self._go_package(ctx, mains, result)
        if package is None:
            return
        target = "." if package == "." else f"./{package}"
        source = ctx.path("go.mod") if package == "." else ctx.path(package)
        result.set("build_command", f"go build -o {GO_BINARY} {target}", source)
        ctx.extras["go_package"] = package
        ctx.extras["go_build_source"] = source

    @staticmethod
    def _go_package(ctx: DetectionContext, mains: list[str], result: Detection) -> str | None:
        if "." in mains:
            return "."
        cmds = [m for m in mains if m.startswith("cmd/") and m.count("/") == 1]
        if not cmds:
            return mains[0] if len(mains) == 1 else None
        if len(cmds) == 1:
            return cmds[0]
        go_code = dict(code(ctx, "go"))
        serving = [c for c in cmds if any(
            rel.startswith(ctx.path(c) + "/") and re.search(r"ListenAndServe|\.Run\(|\.Start\(|\.Listen\(", text)
            for rel, text in go_code.items())]
        module = ctx.go_mod().module.rsplit("/", 1)[-1] if ctx.go_mod() else ""
        preferred = [c for c in serving if c.split("/")[1] in (module, "server", "api", "web", "app")]
        chosen = (preferred or serving or cmds)[0]
        result.warn(f"several commands ({', '.join(cmds)}); chose {chosen}. "
                    "Add a Procfile 'web:' line to run another.")
        return chosen

    def _go_start(self, ctx: DetectionContext, result: Detection) -> tuple[str, str, str | None] | None:
        package = ctx.extras.get("go_package")
        if package is None:
            return None
        folder = ctx.path(package) if package != "." else ctx.app_dir
        entry = next((rel for rel, text in code(ctx, "go") if rel.rsplit("/", 1)[0] == folder.rstrip("/")
                      or (folder == "." and "/" not in rel)), None)
        return GO_BINARY, ctx.extras.get("go_build_source") or ctx.path("go.mod"), entry
