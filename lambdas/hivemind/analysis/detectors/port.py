"""D006 port: the port the app listens on, and whether it reads $PORT.

Order: explicit numbers in the start command's flags and config files, then literals in the code
(the entry file first), then the framework's default.
"""

from __future__ import annotations

import re

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.rules import code

FRAMEWORK_DEFAULTS: dict[str, int] = {
    "express": 3000, "fastify": 3000, "koa": 3000, "hapi": 3000, "nest": 3000, "next": 3000,
    "flask": 5000, "django": 8000, "fastapi": 8000, "starlette": 8000,
    "gin": 8080, "echo": 1323, "fiber": 3000, "chi": 8080, "net/http": 8080,
}
LANGUAGE_DEFAULTS: dict[str, int] = {"node": 3000, "python": 8000, "go": 8080}

# Flags in a start command: --port 8000, --port=8000, -p 8000, --bind 0.0.0.0:8000, -b :8000,
# --listen=0.0.0.0:8000, runserver 0.0.0.0:8000.
_FLAG_RES = (
    re.compile(r"\$\{PORT:-(\d{1,5})\}"),
    re.compile(r"(?:--port|-p)(?:=|\s+)['\"]?(\d{1,5})\b"),
    re.compile(r"(?:--bind|-b|--listen)(?:=|\s+)['\"]?[\w.\[\]:-]*:(\d{1,5})\b"),
    re.compile(r"\brunserver\s+(?:[\w.]+:)?(\d{1,5})\b"),
)
_PORT_ENV_IN_COMMAND = re.compile(r"\$\{?PORT\b")

# A helper such as getenv("PORT", "8080") / env("PORT", 5000) / getEnv('PORT', '3000'), any language.
_ENV_HELPER_READ = re.compile(r"""\b\w*env\w*\(\s*['"`]PORT['"`]""", re.IGNORECASE)
_ENV_HELPER_DEFAULT = re.compile(r"""\b\w*env\w*\(\s*['"`]PORT['"`]\s*,\s*(?:default\s*=\s*)?['"`]?(\d{1,5})""",
                                 re.IGNORECASE)
_READS_PORT: dict[str, re.Pattern[str]] = {
    "node": re.compile(r"""process\.env(?:\.PORT\b|\[\s*['"]PORT['"]\s*\])|\{[^}]*\bPORT\b[^}]*\}\s*=\s*process\.env"""),
    "python": re.compile(r"""(?:environ(?:\.get)?\s*[\[(]\s*|getenv\s*\(\s*|env(?:\.int)?\s*\(\s*)['"]PORT['"]"""),
    "go": re.compile(r"""(?:Getenv|LookupEnv)\(\s*"PORT"\s*\)"""),
}
_LITERALS: dict[str, tuple[re.Pattern[str], ...]] = {
    "node": (
        re.compile(r"""process\.env(?:\.PORT|\[\s*['"]PORT['"]\s*\])\s*(?:\|\||\?\?)\s*['"]?(\d{1,5})"""),
        re.compile(r"""\.listen\(\s*\{[^}]*?\bport\s*:\s*(\d{1,5})"""),
        re.compile(r"""\.listen\(\s*['"]?(\d{1,5})['"]?\s*[,)]"""),
        re.compile(r"""\b(?:const|let|var)\s+port\s*=\s*['"]?(\d{1,5})['"]?\s*;?\s*$""", re.IGNORECASE | re.MULTILINE),
    ),
    "python": (
        re.compile(r"""(?:environ\.get|getenv|env\.int|env)\s*\(\s*['"]PORT['"]\s*,\s*(?:default\s*=\s*)?['"]?(\d{1,5})"""),
        re.compile(r"""\buvicorn\.run\([^)]*?\bport\s*=\s*(\d{1,5})""", re.DOTALL),
        re.compile(r"""\.run\([^)]*?\bport\s*=\s*(\d{1,5})""", re.DOTALL),
        re.compile(r"""^\s*bind\s*=\s*['"][\w.\[\]-]*:(\d{1,5})['"]""", re.MULTILINE),
    ),
    "go": (
        re.compile(r"""(?:ListenAndServe(?:TLS)?|\.Run|\.Start|\.Listen|\.ListenTLS)\(\s*"[\w.\[\]-]*:(\d{1,5})\""""),
        re.compile(r"""\bAddr\s*:\s*"[\w.\[\]-]*:(\d{1,5})\""""),
        re.compile(r"""\bport\s*(?::=|=)\s*"(\d{1,5})\"""", re.IGNORECASE),
    ),
}
CONFIG_FILES = (".env.example", ".env.sample", ".env.template", ".env.dist", ".env", "gunicorn.conf.py")
_ENV_PORT = re.compile(r"^\s*(?:export\s+)?PORT\s*=\s*['\"]?(\d{1,5})['\"]?\s*(?:#.*)?$", re.MULTILINE)


def _valid(value: str) -> int | None:
    number = int(value)
    return number if 1 <= number <= 65535 else None


class PortDetector(Detector):
    id = "D006"
    shortdesc = "Port"
    description = (
        "The port from the start command's flags (--port, -p, --bind host:N), config files "
        "(.env.example PORT=, gunicorn.conf.py bind), then code literals (process.env.PORT || N, "
        "listen(N), app.run(port=N), uvicorn.run(port=N), ListenAndServe(\":N\")), then the framework's "
        "default; and whether the app reads $PORT."
    )
    tags = ("port", "network")
    provides = ("port", "reads_port_env")
    requires = ("language", "framework", "start_command")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        language = ctx.language
        # An npm/yarn/pnpm script is read through: `npm start` runs whatever scripts.start says.
        start = " ".join(filter(None, (str(ctx.value("start_command", "")), ctx.extras.get("start_script"))))
        files = self._ordered_code(ctx, language)
        reads = self._reads_port(ctx, language, start, files)
        if reads is not None:
            result.set("reads_port_env", True, reads)
        port = self._from_command(ctx, start) or self._from_config(ctx) or self._from_code(language, files)
        if port is None:
            framework = ctx.value("framework")
            if framework in FRAMEWORK_DEFAULTS:
                port = (FRAMEWORK_DEFAULTS[framework], f"default:{framework}")
            else:
                port = (LANGUAGE_DEFAULTS[language], f"default:{language}")
        result.set("port", port[0], port[1])
        if reads is None:
            result.warn(f"the app does not appear to read $PORT; it is expected to listen on {port[0]} "
                        f"({port[1]}) on all interfaces")
        return result

    @staticmethod
    def _ordered_code(ctx: DetectionContext, language: str) -> list[tuple[str, str]]:
        """Source files with the entry file (from the start command) first."""
        files = list(code(ctx, language))
        entry = ctx.extras.get("entry_file")
        files.sort(key=lambda item: item[0] != entry)
        return files

    @staticmethod
    def _reads_port(ctx: DetectionContext, language: str, start: str, files: list[tuple[str, str]]) -> str | None:
        source = ctx.source("start_command") or "start command"
        if _PORT_ENV_IN_COMMAND.search(start):
            return f"{source} (passes $PORT)"
        words = start.split()
        if "gunicorn" in words and not re.search(r"(?:--bind|-b)\b", start):
            return f"{source} (gunicorn reads $PORT)"
        if re.search(r"\bnext\s+start\b", start) and not re.search(r"(?:--port|-p)\b", start):
            return f"{source} (next start reads $PORT)"
        for rel, text in files:
            if _READS_PORT[language].search(text) or _ENV_HELPER_READ.search(text):
                return rel
        return None

    @staticmethod
    def _from_command(ctx: DetectionContext, start: str) -> tuple[int, str] | None:
        for pattern in _FLAG_RES:
            match = pattern.search(start)
            if match and _valid(match.group(1)):
                return int(match.group(1)), f"{ctx.source('start_command')} (start flag)"
        return None

    @staticmethod
    def _from_config(ctx: DetectionContext) -> tuple[int, str] | None:
        for name in CONFIG_FILES:
            rel = ctx.path(name)
            text = ctx.files.read_text(rel, 65536) if ctx.files.is_file(rel) else None
            if not text:
                continue
            pattern = _LITERALS["python"][3] if name.endswith(".py") else _ENV_PORT
            match = pattern.search(text)
            if match and _valid(match.group(1)):
                return int(match.group(1)), f"{rel}:{'bind' if name.endswith('.py') else 'PORT'}"
        return None

    @staticmethod
    def _from_code(language: str, files: list[tuple[str, str]]) -> tuple[int, str] | None:
        for rel, text in files:
            for pattern in (*_LITERALS[language], _ENV_HELPER_DEFAULT):
                match = pattern.search(text)
                if match and _valid(match.group(1)):
                    return int(match.group(1)), rel
        return None
