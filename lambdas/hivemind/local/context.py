"""Where the local cloud keeps its files, and the settings every emulator adapter reads.

The server process creates one ``LocalContext`` at start (``set_context``); the adapters
(agent, proxy, rds, ...) read it with ``get_context()`` when moto calls into them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
HOST = "127.0.0.1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "hivemind-local",
    "AWS_SECRET_ACCESS_KEY": "hivemind-local",
}

# Load balancer health checks run this many times faster locally than their target group
# says (a 30 s interval becomes 1.5 s; timeouts at least 1 s). Override with HIVEMIND_LOCAL_SPEED
# or `--speed` (1 = AWS timing). The pipeline's own wait loops use HIVEMIND_POLL_INTERVAL_S.
DEFAULT_SPEED = 20.0


def default_state_dir() -> Path:
    """$HIVEMIND_LOCAL_DIR or ~/.hivemind/local."""
    configured = os.environ.get("HIVEMIND_LOCAL_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".hivemind" / "local"


@dataclass(frozen=True)
class LocalContext:
    state_dir: Path
    port: int
    speed: float = DEFAULT_SPEED

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def instances_dir(self) -> Path:
        return self.state_dir / "instances"

    @property
    def rds_dir(self) -> Path:
        return self.state_dir / "rds"

    @property
    def snapshots_dir(self) -> Path:
        return self.state_dir / "rds-snapshots"

    @property
    def work_dir(self) -> Path:
        return self.state_dir / "work"

    def scaled(self, seconds: float, *, minimum: float = 0.2) -> float:
        """An AWS duration (health check interval, timeout) as it runs locally."""
        return max(minimum, float(seconds) / self.speed)


_current: LocalContext | None = None


def set_context(ctx: LocalContext) -> None:
    global _current
    _current = ctx


def get_context() -> LocalContext:
    if _current is None:
        raise RuntimeError("the local cloud context is not set: run inside `python -m hivemind.local.server`")
    return _current
