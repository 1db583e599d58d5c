"""An HTTP probe from outside the app: what a user's browser would see."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from pydantic import BaseModel


class ProbeResult(BaseModel):
    url: str
    status: int | None = None
    elapsed_ms: float
    body: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


class HttpProbe:
    def get(self, url: str, timeout_s: float = 5.0) -> ProbeResult:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url}")
        start = time.perf_counter()
        req = urllib.request.Request(url, headers={"User-Agent": "hivemind-verify/1"})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - scheme checked above
                body = resp.read(2048).decode(errors="replace")
                return ProbeResult(url=url, status=resp.status, body=body, elapsed_ms=_ms(start))
        except urllib.error.HTTPError as exc:
            body = exc.read(2048).decode(errors="replace") if exc.fp else ""
            return ProbeResult(url=url, status=exc.code, body=body, elapsed_ms=_ms(start))
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            return ProbeResult(url=url, error=str(reason), elapsed_ms=_ms(start))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
