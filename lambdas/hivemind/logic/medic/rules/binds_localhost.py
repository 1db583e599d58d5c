"""The app listens on 127.0.0.1 only, so the load balancer cannot reach it."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(address=first_group(r"listens on (\S+?)(?:,|\s|$)", lines))


RULE = Rule(
    id="binds-localhost",
    title="the app listens on a loopback address only",
    stages=("deploy", "update"),
    signatures=("bind_mismatch",),
    patterns=(
        r"listens on (127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)",
        r"not 127\.0\.0\.1",
        r"Running on https?://(127\.0\.0\.1|localhost)",
    ),
    remediation=(
        "Make the app listen on all interfaces: bind 0.0.0.0 (or the HOST environment variable HiveMind sets), "
        "not 127.0.0.1/localhost - e.g. `app.run(host='0.0.0.0')`, `--bind 0.0.0.0:$PORT`, "
        "`server.listen(PORT, '0.0.0.0')`, `http.ListenAndServe(\":\"+port, ...)`. Then redeploy."
    ),
    priority=121,
    text_match=False,
    extract=extract,
)
