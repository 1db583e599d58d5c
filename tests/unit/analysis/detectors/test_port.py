"""D006 port: start flags and config, then code literals per language, then framework defaults."""

from __future__ import annotations

import pytest

NODE = {"package.json": {"dependencies": {"express": "4"}}}
PY = {"requirements.txt": "flask\n"}
GO = {"go.mod": "module m\ngo 1.22\n"}


def go_main(body: str, imports: str = '"net/http"') -> str:
    return f"package main\n\nimport (\n\t{imports}\n\t\"os\"\n)\n\nfunc main() {{\n{body}\n}}\n"


CASES = [
    # node literals
    ({**NODE, "server.js": "require('express');\nconst port = process.env.PORT || 8080;\n"}, 8080, True),
    ({**NODE, "server.js": "require('express');\napp.listen(process.env.PORT ?? '4001');\n"}, 4001, True),
    ({**NODE, "server.js": "require('express');\napp.listen(5001, () => {});\n"}, 5001, False),
    ({**NODE, "server.js": "require('express');\nfastify.listen({ host: '0.0.0.0', port: 7000 });\n"}, 7000, False),
    ({**NODE, "server.js": "require('express');\n// app.listen(9999);\napp.listen(process.env['PORT']);\n"}, 3000, True),
    ({**NODE, "server.js": "require('express');\napp.listen(70000);\n"}, 3000, False),
    # python literals
    ({**PY, "app.py": "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n"
                      "    app.run(host='0.0.0.0', port=5001)\n"}, 5001, False),
    ({"requirements.txt": "fastapi\nuvicorn\n",
      "main.py": "import uvicorn\nfrom fastapi import FastAPI\napp = FastAPI()\nif __name__ == '__main__':\n"
                 "    uvicorn.run(app, host='0.0.0.0', port=8002)\n"}, 8002, True),
    ({**PY, "app.py": "import os\nfrom flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n"
                      "    app.run(port=int(os.getenv('PORT', '9090')))\n"}, 9090, True),
    ({**PY, "app.py": "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run()\n"},
     5000, False),
    ({"requirements.txt": "flask\ngunicorn\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n",
      "gunicorn.conf.py": "bind = '0.0.0.0:8123'\n", "Procfile": "web: gunicorn -c gunicorn.conf.py app:app\n"},
     8123, True),
    # go literals
    ({**GO, "main.go": go_main('\thttp.ListenAndServe(":9001", nil)')}, 9001, False),
    ({**GO, "main.go": go_main('\tport := os.Getenv("PORT")\n\tif port == "" {\n\t\tport = "8089"\n\t}\n'
                               '\thttp.ListenAndServe(":"+port, nil)')}, 8089, True),
    ({"go.mod": "module m\ngo 1.22\nrequire github.com/labstack/echo/v4 v4.12.0\n",
      "main.go": go_main('\te := echo.New()\n\te.Start(":1324")', '"github.com/labstack/echo/v4"')}, 1324, False),
    ({"go.mod": "module m\ngo 1.22\nrequire github.com/labstack/echo/v4 v4.12.0\n",
      "main.go": go_main('\te := echo.New()\n\te.Start(addr)', '"github.com/labstack/echo/v4"')}, 1323, False),
    ({"go.mod": "module m\ngo 1.22\nrequire github.com/gofiber/fiber/v2 v2.52.0\n",
      "main.go": go_main('\tapp := fiber.New()\n\tapp.Listen(":3001")', '"github.com/gofiber/fiber/v2"')}, 3001, False),
    ({"go.mod": "module m\ngo 1.22\nrequire github.com/gin-gonic/gin v1.10.0\n",
      "main.go": go_main('\tr := gin.Default()\n\tr.Run()', '"github.com/gin-gonic/gin"')}, 8080, False),
    # start flags and config files come before code literals
    ({"requirements.txt": "fastapi\nuvicorn\n", "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
      "Procfile": "web: uvicorn main:app --host 0.0.0.0 --port 7001\n"}, 7001, False),
    ({"requirements.txt": "flask\ngunicorn\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n",
      "Procfile": "web: gunicorn app:app --bind 0.0.0.0:7002\n"}, 7002, False),
    ({"requirements.txt": "django\n", "manage.py": "x", "Procfile": "web: python manage.py runserver 0.0.0.0:7003\n"},
     7003, False),
    ({"requirements.txt": "fastapi\nuvicorn\n", "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
      "Procfile": "web: uvicorn main:app --port ${PORT:-7004}\n"}, 7004, True),
    ({**NODE, "server.js": "require('express');\napp.listen(5001);\n", ".env.example": "# config\nPORT=4444\n"},
     4444, False),
]


@pytest.mark.parametrize(("files", "port", "reads_env"), CASES)
def test_port(analyze, files, port, reads_env) -> None:
    stack = analyze(files)
    assert (stack.port, stack.reads_port_env) == (port, reads_env)
    assert stack.sources["port"]


def test_entry_file_literal_beats_other_files(analyze) -> None:
    stack = analyze({**NODE, "package.json": {"dependencies": {"express": "4"}, "scripts": {"start": "node src/main.js"}},
                     "a.js": "app.listen(1111);\n", "src/main.js": "require('express');\napp.listen(2222);\n"})
    assert (stack.port, stack.sources["port"]) == (2222, "src/main.js")


def test_framework_default_is_labelled(analyze) -> None:
    stack = analyze({**PY, "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
    assert (stack.port, stack.sources["port"]) == (5000, "default:flask")
    assert stack.reads_port_env  # the generated `flask run --port $PORT` passes it


def test_app_that_ignores_port_gets_a_warning(analyze) -> None:
    stack = analyze({**NODE, "server.js": "const app = require('express')();\napp.listen();\n"})
    assert (stack.port, stack.sources["port"], stack.reads_port_env) == (3000, "default:express", False)
    assert any("does not appear to read $PORT" in w for w in stack.warnings)
