"""D009 health path: an obvious health route in the source, else "/"."""

from __future__ import annotations

import re

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.rules import code

# Preferred first: a dedicated liveness route beats a generic one.
HEALTH_PATHS = ("/healthz", "/health", "/api/health", "/api/healthz", "/healthcheck", "/_health", "/status/health")


class HealthPathDetector(Detector):
    id = "D009"
    shortdesc = "Health check path"
    description = (
        "A string literal naming a health route (/healthz, /health, /api/health, ...) in the app's "
        "source becomes the load balancer's health check path; otherwise '/'."
    )
    tags = ("health", "verify")
    provides = ("health_path",)
    requires = ("language", "app_dir")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        hits: dict[str, str] = {}
        for rel, text in code(ctx, ctx.language):
            for path in HEALTH_PATHS:
                if path not in hits and re.search(rf"""['"`]{re.escape(path)}/?['"`]""", text):
                    hits[path] = rel
        for path in HEALTH_PATHS:
            if path in hits:
                result.set("health_path", path, hits[path])
                return result
        result.set("health_path", "/", "default:health")
        return result
