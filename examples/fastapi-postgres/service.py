"""fastapi-postgres: a FastAPI app that uses PostgreSQL on every request.

The app object is `api` in this module (not `app` in main.py) on purpose: HiveMind's analysis has
to find it. `/` records a visit and counts them, so a passing check proves the database is really
used; `/health` answers 503 while the database cannot be reached, so a load balancer never sends
traffic to an instance without a working DATABASE_URL.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse

log = logging.getLogger("fastapi-postgres")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

GREETING = "Hello from fastapi-postgres on HiveMind!"
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS visits (
    id BIGSERIAL PRIMARY KEY,
    visited_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class DatabaseNotConfigured(RuntimeError):
    """DATABASE_URL is missing: the platform did not attach a database."""


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise DatabaseNotConfigured("DATABASE_URL is not set; attach a PostgreSQL database")
    return url


def connect() -> psycopg.Connection:
    # A short connect timeout: a health check must answer quickly even when the DB is down.
    return psycopg.connect(database_url(), connect_timeout=3, autocommit=True)


def ensure_schema() -> None:
    with connect() as conn:
        conn.execute(CREATE_TABLE)


@asynccontextmanager
async def lifespan(_: FastAPI):
    # Create the table at startup, but keep serving when the database is not there yet:
    # /health reports it (503) instead of the process crash-looping.
    try:
        ensure_schema()
        log.info("schema ready")
    except Exception as exc:  # noqa: BLE001 - reported by /health
        log.error("database not ready at startup: %s", exc)
    yield


api = FastAPI(title="fastapi-postgres", lifespan=lifespan)


@api.get("/")
def index() -> dict:
    with connect() as conn:
        conn.execute(CREATE_TABLE)
        conn.execute("INSERT INTO visits DEFAULT VALUES")
        visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        version = conn.execute("SHOW server_version").fetchone()[0]
    return {"message": GREETING, "visits": visits, "db": f"postgres {version}"}


@api.get("/health")
def health():
    try:
        with connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse({"status": "unhealthy", "reason": str(exc)}, status_code=503)
    return PlainTextResponse("ok")
