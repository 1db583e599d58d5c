"""D002 framework: dependency names (not substrings), runtime deps only, confirmed in source."""

from __future__ import annotations

import pytest

NODE_SERVER = "const x = require('{pkg}');\nx();\n"
PY_APP = "from {mod} import {cls}\napp = {cls}(__name__)\n\nif __name__ == '__main__':\n    app.run()\n"
GO_MAIN = 'package main\n\nimport (\n\t"{imp}"\n\t"net/http"\n)\n\nfunc main() {{ http.ListenAndServe(":8080", nil) }}\n'

CASES = [
    # node
    ("express", {"package.json": {"dependencies": {"express": "4"}}, "server.js": NODE_SERVER.format(pkg="express")}),
    ("fastify", {"package.json": {"dependencies": {"fastify": "4"}}, "server.js": "import F from 'fastify';\n"}),
    ("koa", {"package.json": {"dependencies": {"koa": "2"}}, "server.js": NODE_SERVER.format(pkg="koa")}),
    ("hapi", {"package.json": {"dependencies": {"@hapi/hapi": "21"}}, "server.js": NODE_SERVER.format(pkg="@hapi/hapi")}),
    ("nest", {"package.json": {"dependencies": {"@nestjs/core": "10", "express": "4"}},
              "server.js": "const { NestFactory } = require('@nestjs/core');\n"}),
    ("next", {"package.json": {"dependencies": {"next": "14"}, "scripts": {"start": "next start"}}}),
    # a substring of a framework name is not the framework
    (None, {"package.json": {"dependencies": {"express-session": "1", "koa-router": "12"}},
            "server.js": "require('express-session');\n"}),
    # dev-only framework, not imported: no framework
    (None, {"package.json": {"devDependencies": {"express": "4"}}, "server.js": "require('http');\n"}),
    # declared both; only fastify imported: fastify although express ranks lower anyway
    ("fastify", {"package.json": {"dependencies": {"express": "4", "fastify": "4"}},
                 "server.js": "const f = require('fastify');\n// const e = require('express');\n"}),
    # koa imported, hapi declared but unused: koa (confirmed beats declared)
    ("koa", {"package.json": {"dependencies": {"@hapi/hapi": "21", "koa": "2"}}, "server.js": NODE_SERVER.format(pkg="koa")}),
    # python
    ("flask", {"requirements.txt": "Flask==3.0\n", "app.py": PY_APP.format(mod="flask", cls="Flask")}),
    ("fastapi", {"requirements.txt": "fastapi\nstarlette\n", "app.py": PY_APP.format(mod="fastapi", cls="FastAPI")}),
    ("starlette", {"requirements.txt": "starlette\n",
                   "app.py": PY_APP.format(mod="starlette.applications", cls="Starlette")}),
    ("django", {"requirements.txt": "django\n", "manage.py": "import os\nif __name__ == '__main__':\n    pass\n"}),
    # flask-cors is not flask; commented-out flask does not count
    (None, {"requirements.txt": "flask-cors\n# flask==3\n", "app.py": "if __name__ == '__main__':\n    pass\n"}),
    # django declared (no manage.py, never imported), flask used
    ("flask", {"requirements.txt": "django\nflask\n", "app.py": PY_APP.format(mod="flask", cls="Flask")}),
    # go
    ("gin", {"go.mod": "module m\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.10.0\n",
             "main.go": GO_MAIN.format(imp="github.com/gin-gonic/gin")}),
    ("echo", {"go.mod": "module m\n\ngo 1.22\n\nrequire github.com/labstack/echo/v4 v4.12.0\n",
              "main.go": GO_MAIN.format(imp="github.com/labstack/echo/v4")}),
    ("fiber", {"go.mod": "module m\n\ngo 1.22\n\nrequire github.com/gofiber/fiber/v2 v2.52.0\n",
               "main.go": GO_MAIN.format(imp="github.com/gofiber/fiber/v2")}),
    ("chi", {"go.mod": "module m\n\ngo 1.22\n\nrequire github.com/go-chi/chi/v5 v5.0.12\n",
             "main.go": GO_MAIN.format(imp="github.com/go-chi/chi/v5/middleware")}),
    # an indirect requirement is not the app's framework
    ("net/http", {"go.mod": "module m\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.10.0 // indirect\n",
                  "main.go": GO_MAIN.format(imp="fmt")}),
]


@pytest.mark.parametrize(("expected", "files"), CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_framework(analyze, expected, files) -> None:
    stack = analyze(files)
    assert stack.framework == expected
    if expected is not None:
        assert stack.sources["framework"]


def test_declared_but_unused_framework_is_reported_with_a_warning(analyze) -> None:
    stack = analyze({"requirements.txt": "flask\n", "main.py": "import http.server\nif __name__ == '__main__':\n  pass\n"})
    assert stack.framework == "flask"
    assert any("no source file imports it" in w for w in stack.warnings)


def test_imported_but_undeclared_framework_is_flagged(analyze) -> None:
    stack = analyze({"package.json": {"dependencies": {}}, "server.js": "const e = require('express');\n"})
    assert stack.framework == "express"
    assert any("no manifest declares it" in w for w in stack.warnings)
