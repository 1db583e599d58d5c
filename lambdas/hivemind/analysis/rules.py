"""Knowledge shared by several detectors: which dependency names are which framework, how a
framework shows up in source, where an app's entry point is.

Tables, not code paths, so adding a framework is one line here plus a fixture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from hivemind.analysis.context import DetectionContext

# (framework, dependency names) in priority order: when several are used, the first wins
# (Nest is built on Express, FastAPI on Starlette, so the higher-level one comes first).
FRAMEWORKS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "node": (
        ("nest", ("@nestjs/core",)),
        ("next", ("next",)),
        ("fastify", ("fastify",)),
        ("koa", ("koa",)),
        ("hapi", ("@hapi/hapi", "hapi")),
        ("express", ("express",)),
    ),
    "python": (
        ("django", ("django",)),
        ("fastapi", ("fastapi",)),
        ("starlette", ("starlette",)),
        ("flask", ("flask",)),
    ),
    "go": (
        ("gin", ("github.com/gin-gonic/gin",)),
        ("echo", ("github.com/labstack/echo/v4", "github.com/labstack/echo")),
        ("fiber", ("github.com/gofiber/fiber/v3", "github.com/gofiber/fiber/v2", "github.com/gofiber/fiber")),
        ("chi", ("github.com/go-chi/chi/v5", "github.com/go-chi/chi")),
    ),
}
# Python import names differ from distribution names only in case here.
PYTHON_IMPORTS = {"django": "django", "fastapi": "fastapi", "starlette": "starlette", "flask": "flask"}
ENTRY_FILES_NODE = ("server.js", "app.js", "index.js")
ENTRY_FILES_PYTHON = ("app.py", "main.py", "server.py", "wsgi.py", "asgi.py", "application.py", "run.py")


@lru_cache(maxsize=64)
def node_import_re(package: str) -> re.Pattern[str]:
    """require('pkg'), require('pkg/sub'), import x from 'pkg', import('pkg')."""
    name = re.escape(package)
    return re.compile(
        rf"""(?:require\s*\(\s*|\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"`]{name}(?:/[^'"`]*)?['"`]"""
    )


@lru_cache(maxsize=64)
def python_import_re(module: str) -> re.Pattern[str]:
    name = re.escape(module)
    return re.compile(rf"^[ \t]*(?:from[ \t]+{name}(?:\.[\w.]+)?[ \t]+import\b|import[ \t]+{name}\b)", re.MULTILINE)


@lru_cache(maxsize=64)
def go_import_re(path: str) -> re.Pattern[str]:
    return re.compile(rf'"{re.escape(path)}(?:/[^"]*)?"')


def strip_comments(text: str, language: str) -> str:
    """Drop comments so a commented-out import or route does not count (strings are kept)."""
    if language == "python":
        return re.sub(r"(?m)^[ \t]*#.*$", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"(?m)^[ \t]*//.*$", "", text)


def code(ctx: DetectionContext, language: str, app_dir: str | None = None) -> list[tuple[str, str]]:
    """(path, text without comments) for the app's source files, cached on the context."""
    key = f"code:{language}:{ctx.app_dir if app_dir is None else app_dir}"
    if key not in ctx.extras:
        ctx.extras[key] = [(rel, strip_comments(text, language)) for rel, text in ctx.sources(language, app_dir)]
    return ctx.extras[key]


def declared_frameworks(ctx: DetectionContext, language: str, app_dir: str | None = None) -> list[tuple[str, str, str]]:
    """(framework, dependency name, manifest source) for each framework declared as a runtime dep."""
    deps = ctx.deps(language, app_dir)
    found = []
    for framework, names in FRAMEWORKS[language]:
        for name in names:
            dep = deps.get(name)
            if dep is not None:
                found.append((framework, name, dep.source))
                break
    return found


def imported_in(ctx: DetectionContext, language: str, framework: str, dep_name: str,
                app_dir: str | None = None) -> str | None:
    """The first source file that uses ``framework``, or None. Cheap regexes, comments ignored."""
    folder = ctx.app_dir if app_dir is None else app_dir
    if language == "node":
        if framework == "next":
            return _next_marker(ctx, folder)
        pattern = node_import_re(dep_name)
    elif language == "python":
        if framework == "django":
            manage = ctx.path("manage.py", folder)
            if ctx.files.is_file(manage):
                return manage
        pattern = python_import_re(PYTHON_IMPORTS[framework])
    else:
        pattern = go_import_re(dep_name)
    for rel, text in code(ctx, language, folder):
        if pattern.search(text):
            return rel
    return None


def _next_marker(ctx: DetectionContext, folder: str) -> str | None:
    """Next.js apps rarely import 'next' in a server file: its config, pages or scripts show it."""
    for name in ("next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs"):
        if ctx.files.is_file(ctx.path(name, folder)):
            return ctx.path(name, folder)
    manifest = ctx.package_json(folder)
    if manifest is not None:
        for script, command in manifest.scripts.items():
            if re.search(r"(?:^|&&|\s)next\s+(?:start|build|dev)\b", command):
                return f"{manifest.path}:scripts.{script}"
    for name in ("pages", "app", "src/pages", "src/app"):
        if ctx.files.is_dir(ctx.path(name, folder)):
            return ctx.path(name, folder)
    return None


def go_net_http(ctx: DetectionContext, app_dir: str | None = None) -> str | None:
    """A Go file that imports net/http and serves with it."""
    for rel, text in code(ctx, "go", app_dir):
        if '"net/http"' in text and re.search(r"\bhttp\.(?:ListenAndServe|ListenAndServeTLS|Serve)\b|http\.Server\s*\{", text):
            return rel
    return None


# --- Go entry points --------------------------------------------------------------------------
_GO_PACKAGE_RE = re.compile(r"^\s*package\s+(\w+)", re.MULTILINE)


def go_main_packages(ctx: DetectionContext, app_dir: str | None = None) -> list[str]:
    """Folders (relative to the app folder, '.' for itself) holding a ``package main``."""
    folder = ctx.app_dir if app_dir is None else app_dir
    base = "" if folder in (".", "") else folder.rstrip("/") + "/"
    mains: list[str] = []
    for rel, text in code(ctx, "go", folder):
        match = _GO_PACKAGE_RE.search(text)
        if match and match.group(1) == "main":
            pkg = rel[len(base):].rsplit("/", 1)[0] if "/" in rel[len(base):] else "."
            if pkg not in mains:
                mains.append(pkg)
    return mains


# --- Python app objects -----------------------------------------------------------------------
@dataclass(frozen=True)
class PythonApp:
    """Where a Python web app object lives: ``module:attr`` as servers want it."""

    path: str  # file, relative to the repository root
    module: str  # dotted, relative to the app folder (or to ``chdir``)
    attr: str  # variable name, or ``create_app()`` for a factory
    chdir: str | None  # a folder to run from (``src`` layout), relative to the app folder
    has_main_block: bool
    main_block_runs_server: bool

    @property
    def target(self) -> str:
        return f"{self.module}:{self.attr}"


_CONSTRUCTORS = {
    "flask": r"(?:flask\.)?Flask",
    "fastapi": r"(?:fastapi\.)?FastAPI",
    "starlette": r"(?:starlette\.applications\.)?Starlette",
}
_MAIN_RE = re.compile(r"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""", re.MULTILINE)
_PREFERRED_MODULES = ("app", "main", "server", "wsgi", "asgi", "application", "api", "run", "web")


def _module_for(rel: str, folder: str, ctx: DetectionContext) -> tuple[str, str | None] | None:
    """Dotted module name for a file and the folder to run from (None = the app folder)."""
    base = "" if folder in (".", "") else folder.rstrip("/") + "/"
    inner = rel[len(base):]
    parts = inner[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return None
    chdir = None
    if parts[0] == "src" and len(parts) > 1 and not ctx.files.is_file(ctx.path("src/__init__.py", folder)):
        chdir, parts = "src", parts[1:]
    if not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), chdir


def find_python_apps(ctx: DetectionContext, framework: str, app_dir: str | None = None) -> list[PythonApp]:
    """Every module that creates a ``framework`` app, best candidate first.

    The variable is read from the assignment (``application = Flask(__name__)`` gives
    ``application``), so no ``main:app`` is assumed. A Flask ``create_app`` factory is used only
    when no module-level app object exists.
    """
    folder = ctx.app_dir if app_dir is None else app_dir
    ctor = _CONSTRUCTORS.get(framework)
    if ctor is None:
        return []
    assign = re.compile(rf"^([A-Za-z_]\w*)\s*(?::\s*[\w.\[\]]+\s*)?=\s*{ctor}\s*\(", re.MULTILINE)
    factory = re.compile(r"^def\s+(create_app|make_app)\s*\(", re.MULTILINE)
    found: list[tuple[tuple[int, int, int, str], PythonApp]] = []
    for rel, text in code(ctx, "python", folder):
        match = assign.search(text)
        attr = match.group(1) if match else None
        if attr is None and framework == "flask" and re.search(rf"\b{ctor}\s*\(", text):
            factory_match = factory.search(text)
            attr = f"{factory_match.group(1)}()" if factory_match else None
        if attr is None:
            continue
        module = _module_for(rel, folder, ctx)
        if module is None:
            continue
        main = _MAIN_RE.search(text)
        runs = bool(main and re.search(r"\.run\s*\(|uvicorn\.run\s*\(|serve\s*\(", text[main.end():]))
        app = PythonApp(rel, module[0], attr, module[1], bool(main), runs)
        stem = module[0].rsplit(".", 1)[-1]
        rank = (0 if "()" not in attr else 1, module[0].count("."),
                _PREFERRED_MODULES.index(stem) if stem in _PREFERRED_MODULES else len(_PREFERRED_MODULES), rel)
        found.append((rank, app))
    return [app for _, app in sorted(found, key=lambda item: item[0])]


# --- Django -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DjangoProject:
    settings: str  # settings file path
    wsgi: str | None  # dotted "mysite.wsgi.application"
    asgi: str | None
    wsgi_source: str | None
    asgi_source: str | None


def find_django(ctx: DetectionContext, app_dir: str | None = None) -> DjangoProject | None:
    """The settings module (manage.py's DJANGO_SETTINGS_MODULE first) and its WSGI/ASGI apps."""
    folder = ctx.app_dir if app_dir is None else app_dir
    candidates: list[str] = []
    manage = ctx.files.read_text(ctx.path("manage.py", folder)) or ""
    declared = re.search(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""", manage)
    if declared:
        module_path = declared.group(1).replace(".", "/")
        candidates += [ctx.path(module_path + ".py", folder), ctx.path(module_path + "/__init__.py", folder)]
    candidates += ctx.files.glob("**/settings.py", folder) + ctx.files.glob("**/settings/*.py", folder)
    for settings in dict.fromkeys(candidates):
        text = ctx.text(settings) if ctx.files.is_file(settings) else None
        if text is None or "INSTALLED_APPS" not in text and "WSGI_APPLICATION" not in text:
            continue
        wsgi = re.search(r"""^WSGI_APPLICATION\s*=\s*['"]([\w.]+)['"]""", text, re.MULTILINE)
        asgi = re.search(r"""^ASGI_APPLICATION\s*=\s*['"]([\w.]+)['"]""", text, re.MULTILINE)
        return DjangoProject(
            settings,
            wsgi.group(1) if wsgi else None,
            asgi.group(1) if asgi else None,
            f"{settings}:WSGI_APPLICATION" if wsgi else None,
            f"{settings}:ASGI_APPLICATION" if asgi else None,
        )
    return None


def dotted_to_target(dotted: str) -> str:
    """'mysite.wsgi.application' -> 'mysite.wsgi:application'."""
    module, _, attr = dotted.rpartition(".")
    return f"{module}:{attr}" if module else dotted


def has_start_entry(ctx: DetectionContext, language: str, app_dir: str) -> str | None:
    """A file that shows how the app starts (used to choose between manifests), or None."""
    procfile = ctx.procfile(app_dir)
    if procfile and procfile[0] == ctx.path("Procfile", app_dir) and "web" in procfile[1]:
        return f"{procfile[0]}:web"
    if language == "node":
        manifest = ctx.package_json(app_dir)
        if manifest and "start" in manifest.scripts:
            return f"{manifest.path}:scripts.start"
        if manifest and manifest.main and ctx.files.is_file(ctx.path(manifest.main, app_dir)):
            return f"{manifest.path}:main"
        names = ENTRY_FILES_NODE
    elif language == "python":
        names = ("manage.py", *ENTRY_FILES_PYTHON)
    else:
        return "package main" if go_main_packages(ctx, app_dir) else None
    for name in names:
        if ctx.files.is_file(ctx.path(name, app_dir)):
            return ctx.path(name, app_dir)
    return None
