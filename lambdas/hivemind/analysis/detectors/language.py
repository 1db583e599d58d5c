"""D001 language: which manifest is the app, and so its language and folder."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hivemind.analysis.context import NON_APP_DIRS, Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.rules import declared_frameworks, has_start_entry, imported_in
from hivemind.errors import UnsupportedStack

MANIFESTS: dict[str, tuple[str, ...]] = {
    "node": ("package.json",),
    "python": ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py"),
    "go": ("go.mod",),
}
LANGUAGE_ORDER = ("node", "python", "go")
_COMMAND_LANGUAGE = {
    "node": "node", "npm": "node", "npx": "node", "yarn": "node", "pnpm": "node", "bun": "node", "next": "node",
    "python": "python", "python3": "python", "gunicorn": "python", "uvicorn": "python", "hypercorn": "python",
    "daphne": "python", "waitress-serve": "python", "flask": "python", "pipenv": "python", "poetry": "python",
    "uv": "python", "pdm": "python", "go": "go",
}


def command_language(command: str) -> str | None:
    """The language a Procfile command runs (``FOO=1 gunicorn ...`` -> python), if recognisable."""
    words = [w for w in command.split() if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    if not words:
        return None
    first = words[0].rsplit("/", 1)[-1]
    first = re.sub(r"^python3?(\.\d+)?$", "python", first)
    return _COMMAND_LANGUAGE.get(first)


@dataclass
class Candidate:
    language: str
    app_dir: str
    manifests: list[str]
    score: int
    reasons: list[str]

    @property
    def primary(self) -> str:
        if self.manifests:
            return self.manifests[0]
        return "Procfile:web" if self.app_dir == "." else f"{self.app_dir}/Procfile:web"


def _candidates(ctx: DetectionContext, folder: str) -> list[Candidate]:
    found = []
    procfile = ctx.procfile(folder)
    web = procfile[1].get("web") if procfile and procfile[0] == ctx.path("Procfile", folder) else None
    web_language = command_language(web) if web else None
    for language in LANGUAGE_ORDER:
        manifests = [ctx.path(n, folder) for n in MANIFESTS[language] if ctx.files.is_file(ctx.path(n, folder))]
        if not manifests:
            if web_language != language:
                continue
            reasons = ["Procfile web command"]
            found.append(Candidate(language, folder, [], 1, reasons))
            continue
        score, reasons = 0, []
        frameworks = declared_frameworks(ctx, language, folder)  # parses: ManifestError propagates
        if frameworks:
            score += 2
            reasons.append(f"declares {frameworks[0][0]}")
            if imported_in(ctx, language, frameworks[0][0], frameworks[0][1], folder):
                score += 1
        if has_start_entry(ctx, language, folder):
            score += 1
            reasons.append("has a start entry")
        if web_language == language:
            score += 1
            reasons.append("Procfile web command")
        found.append(Candidate(language, folder, manifests, score, reasons))
    return found


class LanguageDetector(Detector):
    id = "D001"
    shortdesc = "Language and app folder"
    description = (
        "Finds the manifests (package.json; requirements.txt, pyproject.toml, Pipfile, setup.py; go.mod) "
        "at the root, or in a top-level folder when the root holds no app, and picks the one that "
        "declares a web framework or has a start entry. The others are reported as other_manifests."
    )
    tags = ("language", "manifest")
    provides = ("language", "app_dir")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        candidates = _candidates(ctx, ".")
        if not candidates or max(c.score for c in candidates) < 1:
            for folder in ctx.files.subdirs("."):
                if folder not in NON_APP_DIRS and not folder.startswith("."):
                    candidates += [c for c in _candidates(ctx, folder) if c.score >= 1]
        if not candidates:
            top = sorted(f for f in ctx.files.files() if "/" not in f)[:10]
            raise UnsupportedStack(
                "no recognisable app: found no package.json, requirements.txt, pyproject.toml, Pipfile, "
                "setup.py, go.mod or Procfile 'web:' line at the repository root or in its top-level folders",
                context={"top_level_files": top},
            )
        ranked = sorted(candidates, key=lambda c: (-c.score, c.app_dir != ".", LANGUAGE_ORDER.index(c.language)))
        chosen = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        if runner_up is not None and runner_up.score == chosen.score and runner_up.score > 0:
            result.warn(
                f"both {chosen.primary} ({chosen.language}) and {runner_up.primary} ({runner_up.language}) look like "
                f"the app; chose {chosen.primary}. Add a Procfile 'web:' line to say which one to run."
            )
        for other in ranked[1:]:
            result.other_manifests.extend(other.manifests)
        result.set("language", chosen.language, chosen.primary)
        result.set("app_dir", chosen.app_dir, chosen.primary)
        return result
