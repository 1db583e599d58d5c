"""D007 database: ORM config, driver dependencies, compose services, env var names; sqlite embedded."""

from __future__ import annotations

import pytest

NODE = {"server.js": "require('http')\n"}
PY = {"app.py": "if __name__ == '__main__':\n    pass\n"}
GO = {"main.go": "package main\nfunc main() {}\n"}
PRISMA = 'datasource db {{\n  provider = "{p}"\n  url = env("DATABASE_URL")\n}}\n'

CASES = [
    ({**NODE, "package.json": {"dependencies": {"pg": "8"}}}, "postgres", None, "package.json:dependencies (pg)"),
    ({**NODE, "package.json": {"dependencies": {"mysql2": "3"}}}, "mysql", None, None),
    ({**NODE, "package.json": {"dependencies": {"mongoose": "8"}}}, "mongodb", None, None),
    ({**NODE, "package.json": {"dependencies": {"ioredis": "5"}}}, "redis", None, None),
    ({**NODE, "package.json": {"dependencies": {"ioredis": "5", "pg": "8"}}}, "postgres", None, None),
    ({**NODE, "package.json": {"dependencies": {"better-sqlite3": "9"}}}, None, "sqlite", None),
    # dev-only driver: not the app's database
    ({**NODE, "package.json": {"devDependencies": {"pg": "8"}}}, None, None, None),
    # a name containing a driver name is not the driver
    ({**NODE, "package.json": {"dependencies": {"pg-format": "1", "mongodb-memory-server-core": "9"}}}, None, None, None),
    ({**NODE, "package.json": {"dependencies": {"@prisma/client": "5"}}, "prisma/schema.prisma": PRISMA.format(p="mysql")},
     "mysql", None, "prisma/schema.prisma:datasource.provider"),
    ({**NODE, "package.json": {"dependencies": {"@prisma/client": "5"}}, "prisma/schema.prisma": PRISMA.format(p="sqlite")},
     None, "sqlite", None),
    # ORM config beats a driver: Prisma says postgres, an unused mysql2 is also there
    ({**NODE, "package.json": {"dependencies": {"mysql2": "3"}}, "prisma/schema.prisma": PRISMA.format(p="postgresql")},
     "postgres", None, "prisma/schema.prisma:datasource.provider"),
    ({**PY, "requirements.txt": "psycopg[binary]>=3\n"}, "postgres", None, None),
    ({**PY, "requirements.txt": "PyMySQL\n"}, "mysql", None, None),
    ({**PY, "requirements.txt": "motor\n"}, "mongodb", None, None),
    ({**PY, "requirements.txt": "# psycopg2\nrequests\n"}, None, None, None),
    ({**PY, "requirements.txt": "sqlalchemy\n", "db.py": "URL = 'postgresql+psycopg://u@h/db'\n"}, "postgres", None,
     "db.py (connection URL)"),
    ({**PY, "requirements.txt": "django\n", "site/settings.py":
      "DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql'}}\n"}, "mysql", None, "site/settings.py:DATABASES.ENGINE"),
    ({**PY, "requirements.txt": "django\n", "site/settings.py":
      "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3'}}\n"}, None, "sqlite", None),
    ({**PY, "requirements.txt": "flask\n", "compose.yaml": "services:\n  db:\n    image: mariadb:11\n"}, "mysql", None,
     "compose.yaml (service image mariadb:11)"),
    ({**PY, "requirements.txt": "flask\n", "docker-compose.yml": "services:\n  db:\n    image: bitnami/postgresql:16\n"},
     "postgres", None, None),
    ({**PY, "requirements.txt": "flask\n", ".env.example": "POSTGRES_HOST=db\n"}, "postgres", None, None),
    ({**PY, "requirements.txt": "flask\n", "app.py": "import os\nos.environ['MONGODB_URI']\n"
      "if __name__ == '__main__':\n    pass\n"}, "mongodb", None, None),
    ({**GO, "go.mod": "module m\ngo 1.22\nrequire github.com/lib/pq v1.10.9\n"}, "postgres", None, None),
    ({**GO, "go.mod": "module m\ngo 1.22\nrequire github.com/redis/go-redis/v9 v9.5.1\n"}, "redis", None, None),
    ({**GO, "go.mod": "module m\ngo 1.22\nrequire github.com/mattn/go-sqlite3 v1.14.22\n"}, None, "sqlite", None),
    ({**GO, "go.mod": "module m\ngo 1.22\nrequire github.com/lib/pq v1.10.9 // indirect\n"}, None, None, None),
]


@pytest.mark.parametrize(("files", "database", "embedded", "source"), CASES)
def test_database(analyze, files, database, embedded, source) -> None:
    stack = analyze(files)
    assert (stack.database, stack.embedded_database) == (database, embedded)
    if source is not None:
        assert stack.sources["database"] == source
