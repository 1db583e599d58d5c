"""D007 database: which database server the app needs (and whether it embeds sqlite).

Signals, strongest first: ORM configuration (Prisma ``provider``, Django ``ENGINE``), driver
dependencies, docker-compose services, then environment variable names. The strongest class of
signal that names a server decides; within it postgres > mysql > mongodb > redis (a cache is
reported only when nothing else is). sqlite is reported as ``embedded_database``.
"""

from __future__ import annotations

import re

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.rules import code

KINDS = ("postgres", "mysql", "mongodb", "redis")
DRIVERS: dict[str, dict[str, str]] = {
    "node": {
        "pg": "postgres", "pg-promise": "postgres", "postgres": "postgres", "@neondatabase/serverless": "postgres",
        "mysql": "mysql", "mysql2": "mysql", "mariadb": "mysql",
        "mongodb": "mongodb", "mongoose": "mongodb",
        "redis": "redis", "ioredis": "redis",
        "sqlite3": "sqlite", "better-sqlite3": "sqlite",
    },
    "python": {
        "psycopg2": "postgres", "psycopg2-binary": "postgres", "psycopg": "postgres", "psycopg-binary": "postgres",
        "asyncpg": "postgres", "pg8000": "postgres",
        "mysqlclient": "mysql", "pymysql": "mysql", "mysql-connector-python": "mysql", "aiomysql": "mysql",
        "asyncmy": "mysql",
        "pymongo": "mongodb", "motor": "mongodb", "mongoengine": "mongodb", "beanie": "mongodb",
        "redis": "redis", "aioredis": "redis",
        "aiosqlite": "sqlite",
    },
    "go": {
        "github.com/lib/pq": "postgres", "github.com/jackc/pgx/v5": "postgres", "github.com/jackc/pgx/v4": "postgres",
        "github.com/jackc/pgx": "postgres", "gorm.io/driver/postgres": "postgres",
        "github.com/go-sql-driver/mysql": "mysql", "gorm.io/driver/mysql": "mysql",
        "go.mongodb.org/mongo-driver": "mongodb", "go.mongodb.org/mongo-driver/v2": "mongodb",
        "github.com/redis/go-redis/v9": "redis", "github.com/go-redis/redis/v8": "redis",
        "github.com/go-redis/redis": "redis",
        "github.com/mattn/go-sqlite3": "sqlite", "modernc.org/sqlite": "sqlite", "gorm.io/driver/sqlite": "sqlite",
    },
}
PRISMA_PROVIDERS = {"postgresql": "postgres", "postgres": "postgres", "cockroachdb": "postgres", "mysql": "mysql",
                    "mongodb": "mongodb", "sqlite": "sqlite"}
DJANGO_ENGINES = {"postgresql": "postgres", "postgresql_psycopg2": "postgres", "postgis": "postgres",
                  "mysql": "mysql", "sqlite3": "sqlite"}
COMPOSE_IMAGES = (
    (re.compile(r"^(?:[\w.-]+/)*(?:postgres|postgresql|postgis)(?::|@|$)"), "postgres"),
    (re.compile(r"^(?:[\w.-]+/)*(?:mysql|mariadb)(?::|@|$)"), "mysql"),
    (re.compile(r"^(?:[\w.-]+/)*(?:mongo|mongodb)(?::|@|$)"), "mongodb"),
    (re.compile(r"^(?:[\w.-]+/)*(?:redis|valkey)(?::|@|$)"), "redis"),
)
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
ENV_NAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:POSTGRES_\w+|PG(?:HOST|USER|PASSWORD|DATABASE|PORT)|POSTGRESQL_URL)$"), "postgres"),
    (re.compile(r"^MYSQL_\w+$"), "mysql"),
    (re.compile(r"^MONGO(?:DB)?_\w+$"), "mongodb"),
    (re.compile(r"^REDIS_\w+$"), "redis"),
)
_URL_SCHEMES = ((re.compile(r"""['"](?:postgres|postgresql)(?:\+\w+)?://"""), "postgres"),
                (re.compile(r"""['"]mysql(?:\+\w+)?://"""), "mysql"),
                (re.compile(r"""['"]mongodb(?:\+srv)?://"""), "mongodb"),
                (re.compile(r"""['"]sqlite(?:\+\w+)?:///"""), "sqlite"))


class DatabaseDetector(Detector):
    id = "D007"
    shortdesc = "Database"
    description = (
        "postgres / mysql / mongodb / redis from ORM config (Prisma provider, Django ENGINE), driver "
        "dependencies, docker-compose services and env var names; sqlite reported as embedded."
    )
    tags = ("database", "dependencies")
    provides = ("database", "embedded_database")
    requires = ("language", "app_dir", "env_vars")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        tiers = [self._orm(ctx), self._drivers(ctx), self._compose(ctx), self._env_names(ctx)]
        sqlite = next((src for tier in tiers[:2] for kind, src in tier if kind == "sqlite"), None)
        for tier in tiers:
            servers = [(kind, src) for kind, src in tier if kind in KINDS]
            if not servers:
                continue
            servers.sort(key=lambda item: KINDS.index(item[0]))
            kind, source = servers[0]
            result.set("database", kind, source)
            others = sorted({k for k, _ in servers} - {kind}, key=KINDS.index)
            if others:
                result.warn(f"the app also uses {', '.join(others)}; HiveMind provisions {kind} "
                            f"(from {source}) and not the others")
            break
        if sqlite is not None:
            result.set("embedded_database", "sqlite", sqlite)
        return result

    @staticmethod
    def _orm(ctx: DetectionContext) -> list[tuple[str, str]]:
        found = []
        for rel in (ctx.files.glob("**/schema.prisma", ctx.app_dir))[:5]:
            text = ctx.text(rel) or ""
            block = re.search(r"datasource\s+\w+\s*\{(.*?)\}", text, re.DOTALL)
            provider = re.search(r"""provider\s*=\s*["'](\w+)["']""", block.group(1)) if block else None
            if provider and provider.group(1) in PRISMA_PROVIDERS:
                found.append((PRISMA_PROVIDERS[provider.group(1)], f"{rel}:datasource.provider"))
        if ctx.language == "python":
            for rel, text in code(ctx, "python"):
                for match in re.finditer(r"""['"]ENGINE['"]\s*:\s*['"]django\.(?:contrib\.gis\.)?db\.backends\.(\w+)['"]""",
                                         text):
                    if match.group(1) in DJANGO_ENGINES:
                        found.append((DJANGO_ENGINES[match.group(1)], f"{rel}:DATABASES.ENGINE"))
        return found

    @staticmethod
    def _drivers(ctx: DetectionContext) -> list[tuple[str, str]]:
        deps = ctx.deps(ctx.language)
        table = DRIVERS[ctx.language]
        found = [(kind, f"{deps.runtime[name].source} ({name})") for name, kind in table.items() if deps.has(name)]
        for rel, text in code(ctx, ctx.language):
            for pattern, kind in _URL_SCHEMES:
                if pattern.search(text):
                    found.append((kind, f"{rel} (connection URL)"))
        return found

    @staticmethod
    def _compose(ctx: DetectionContext) -> list[tuple[str, str]]:
        found = []
        for name in COMPOSE_FILES:
            for rel in dict.fromkeys((ctx.path(name), name)):
                text = ctx.files.read_text(rel, 262144) if ctx.files.is_file(rel) else None
                for match in re.finditer(r"""^\s*image\s*:\s*['"]?([^\s'"#]+)""", text or "", re.MULTILINE):
                    image = match.group(1).lower()
                    for pattern, kind in COMPOSE_IMAGES:
                        if pattern.match(image):
                            found.append((kind, f"{rel} (service image {image})"))
        return found

    @staticmethod
    def _env_names(ctx: DetectionContext) -> list[tuple[str, str]]:
        found = []
        names = ctx.extras.get("env_var_names") or {}
        for name, source in names.items():
            for pattern, kind in ENV_NAMES:
                if pattern.match(name):
                    found.append((kind, f"{source} (env var {name})"))
        return found
