"""D008 environment variables: what the app reads from its environment, minus what the platform
(the OS, the runtime, HiveMind's own env file) always provides.
"""

from __future__ import annotations

import re

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.rules import code

# Always set on the instance (by the OS, the language runtime or HiveMind's env file's PORT), so
# the user never has to supply them. DATABASE_URL is *not* here: it is only provided when a
# database is planned, so it stays visible.
PLATFORM_ENV_VARS = frozenset({
    "PORT", "HOST", "HOSTNAME", "HOME", "PATH", "PWD", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE",
    "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "TEMP", "TMP", "TZ",
    "NODE_ENV", "NODE_OPTIONS", "NODE_PATH", "npm_package_version", "npm_package_name",
    "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV",
    "GOPATH", "GOROOT", "GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
})
_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "node": (
        re.compile(rf"\bprocess\.env\.{_NAME}"),
        re.compile(rf"""\bprocess\.env\[\s*['"`]{_NAME}['"`]\s*\]"""),
        re.compile(rf"""\bimport\.meta\.env\.{_NAME}"""),
    ),
    "python": (
        re.compile(rf"""\bos\.environ\[\s*['"]{_NAME}['"]\s*\]"""),
        re.compile(rf"""\b(?:os\.)?environ\.get\(\s*['"]{_NAME}['"]"""),
        re.compile(rf"""\b(?:os\.)?getenv\(\s*['"]{_NAME}['"]"""),
        re.compile(rf"""\benv(?:\.(?:str|int|bool|float|list|url|db_url|json))?\(\s*['"]{_NAME}['"]"""),
        re.compile(rf"""\bconfig\(\s*['"]{_NAME}['"]"""),  # python-decouple
    ),
    "go": (
        re.compile(rf"""\bos\.(?:Getenv|LookupEnv)\(\s*"{_NAME}"\s*\)"""),
    ),
}
_DESTRUCTURE = re.compile(r"""(?:const|let|var)\s*\{([^}]*)\}\s*=\s*process\.env\b""")
ENV_FILES = (".env.example", ".env.sample", ".env.template", ".env.dist")
_ENV_LINE = re.compile(rf"^\s*(?:export\s+)?{_NAME}\s*=", re.MULTILINE)


class EnvVarsDetector(Detector):
    id = "D008"
    shortdesc = "Environment variables"
    description = (
        "Names read by the code (process.env.X, os.environ / os.getenv, os.Getenv) and listed in "
        ".env.example-style files, without the ones the platform provides (PORT, HOME, PATH, NODE_ENV, ...)."
    )
    tags = ("env", "configuration")
    provides = ("env_vars",)
    requires = ("language", "app_dir")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        names: dict[str, str] = {}
        for rel, text in code(ctx, ctx.language):
            for pattern in PATTERNS[ctx.language]:
                for match in pattern.finditer(text):
                    names.setdefault(match.group(1), rel)
            if ctx.language == "node":
                for match in _DESTRUCTURE.finditer(text):
                    for part in match.group(1).split(","):
                        name = part.split(":")[0].split("=")[0].strip()
                        if re.fullmatch(_NAME, name):
                            names.setdefault(name, rel)
        for name in ENV_FILES:
            for rel in dict.fromkeys((ctx.path(name), name)):
                text = ctx.files.read_text(rel, 65536) if ctx.files.is_file(rel) else None
                for match in _ENV_LINE.finditer(text or ""):
                    names.setdefault(match.group(1), rel)
        ctx.extras["env_var_names"] = names
        wanted = sorted(name for name in names if name not in PLATFORM_ENV_VARS)
        if wanted:
            sources = sorted({names[name] for name in wanted})
            result.set("env_vars", wanted, ", ".join(sources))
        return result
