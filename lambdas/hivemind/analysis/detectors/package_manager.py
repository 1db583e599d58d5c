"""D004 package manager: which tool installs the dependencies, from lockfiles and manifests.

Values: npm, yarn (v1), yarn-berry (v2+), pnpm, bun; pip, poetry, pipenv, uv, pdm; go.
"""

from __future__ import annotations

import re

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector

# Lockfile -> manager, in the order one is chosen when several exist. package-lock.json comes last
# because a stray one is what `npm install` leaves behind in a yarn/pnpm project; the reverse
# rarely happens.
NODE_LOCKFILES: tuple[tuple[str, str], ...] = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("bun.lock", "bun"),
    ("bun.lockb", "bun"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
PYTHON_LOCKFILES: tuple[tuple[str, str], ...] = (
    ("poetry.lock", "poetry"),
    ("uv.lock", "uv"),
    ("pdm.lock", "pdm"),
    ("Pipfile.lock", "pipenv"),
)
_PACKAGE_MANAGER_FIELD = re.compile(r"^(npm|yarn|pnpm|bun)@(\d+)")


class PackageManagerDetector(Detector):
    id = "D004"
    shortdesc = "Package manager"
    description = (
        "Node: the packageManager field (corepack) first, then the lockfile (pnpm, yarn, bun, npm); "
        "yarn.lock is told apart as v1 or berry by its header. Python: the lockfile (poetry.lock, "
        "uv.lock, pdm.lock, Pipfile.lock), then the tool table in pyproject.toml or a Pipfile, else "
        "pip. Several lockfiles are flagged as ambiguous with the one chosen."
    )
    tags = ("package-manager", "lockfile")
    provides = ("package_manager",)
    requires = ("language", "app_dir")

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        if ctx.language == "node":
            self._node(ctx, result)
        elif ctx.language == "python":
            self._python(ctx, result)
        else:
            manifest = ctx.go_mod()
            result.set("package_manager", "go", manifest.path if manifest else "default:go-modules")
        return result

    @staticmethod
    def _present(ctx: DetectionContext, table: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
        return [(ctx.path(name), tool) for name, tool in table if ctx.files.is_file(ctx.path(name))]

    @staticmethod
    def _yarn_flavour(ctx: DetectionContext, lockfile: str | None, major: int | None = None) -> str:
        if major is not None:
            return "yarn" if major < 2 else "yarn-berry"
        if ctx.files.is_file(ctx.path(".yarnrc.yml")):
            return "yarn-berry"
        head = (ctx.files.read_text(lockfile, 2048) or "") if lockfile else ""
        return "yarn-berry" if "__metadata:" in head else "yarn"

    def _node(self, ctx: DetectionContext, result: Detection) -> None:
        locks = self._present(ctx, NODE_LOCKFILES)
        manifest = ctx.package_json()
        field = manifest.package_manager if manifest else None
        match = _PACKAGE_MANAGER_FIELD.match(field) if field else None
        if field and not match:
            result.warn(f"ignored packageManager {field!r} in {manifest.path}: expected <npm|yarn|pnpm|bun>@<version>")
        if match:
            tool = match.group(1)
            lock = next((rel for rel, t in locks if t == tool), None)
            if tool == "yarn":
                tool = self._yarn_flavour(ctx, lock, int(match.group(2)))
            chosen, source = tool, f"{manifest.path}:packageManager"
        elif locks:
            lock, tool = locks[0]
            chosen, source = (self._yarn_flavour(ctx, lock) if tool == "yarn" else tool), lock
        else:
            chosen, source = "npm", "default:no-lockfile"
        tools = {t for _, t in locks}
        if len(tools) > 1 or (match and tools and match.group(1) not in tools):
            names = ", ".join(rel for rel, _ in locks)
            result.warn(f"several lockfiles ({names}): ambiguous; chose {chosen} from {source}. "
                        "Delete the lockfiles of the tools you do not use.")
        result.set("package_manager", chosen, source)

    def _python(self, ctx: DetectionContext, result: Detection) -> None:
        locks = self._present(ctx, PYTHON_LOCKFILES)
        pyproject = ctx.pyproject()
        tool_table = pyproject.tool if pyproject else {}
        if locks:
            source, chosen = locks[0]
        elif "poetry" in tool_table and (tool_table["poetry"] or {}).get("dependencies"):
            chosen, source = "poetry", f"{pyproject.path}:tool.poetry"
        elif ctx.pipfile() is not None:
            chosen, source = "pipenv", ctx.pipfile().path
        elif "pdm" in tool_table:
            chosen, source = "pdm", f"{pyproject.path}:tool.pdm"
        elif "uv" in tool_table:
            chosen, source = "uv", f"{pyproject.path}:tool.uv"
        else:
            manifests = ctx.python_manifests()
            chosen, source = "pip", manifests[0] if manifests else "default:pip"
        if len({t for _, t in locks}) > 1:
            names = ", ".join(rel for rel, _ in locks)
            result.warn(f"several lockfiles ({names}): ambiguous; chose {chosen} from {source}. "
                        "Delete the lockfiles of the tools you do not use.")
        result.set("package_manager", chosen, source)
