"""D002 framework: the web framework the app really uses."""

from __future__ import annotations

from hivemind.analysis.context import Detection, DetectionContext
from hivemind.analysis.detectors import Detector
from hivemind.analysis.rules import FRAMEWORKS, declared_frameworks, go_net_http, imported_in


class FrameworkDetector(Detector):
    id = "D002"
    shortdesc = "Web framework"
    description = (
        "Reads the runtime dependency names (never substrings; dev-only and commented-out entries do "
        "not count) and confirms each framework in the source by its import. A framework that is "
        "both declared and imported wins over one only declared; among several, the higher-level "
        "one wins (nest > next > fastify > koa > hapi > express; django > fastapi > starlette > "
        "flask; gin > echo > fiber > chi > net/http)."
    )
    tags = ("framework", "dependencies")
    provides = ("framework",)
    requires = ("language",)

    def detect(self, ctx: DetectionContext) -> Detection:
        result = Detection()
        language = ctx.language
        declared = declared_frameworks(ctx, language)
        confirmed = []
        for framework, dep_name, source in declared:
            where = imported_in(ctx, language, framework, dep_name)
            if where is not None:
                confirmed.append((framework, source, where))
        if confirmed:
            framework, source, where = confirmed[0]
            result.set("framework", framework, f"{source} (used in {where})")
            unused = [f for f, _, _ in declared if f not in {c[0] for c in confirmed}]
            if unused:
                result.warn(f"{', '.join(unused)} declared as a dependency but not imported in the app's source; "
                            f"using {framework}")
            return result
        if declared:
            framework, _, source = declared[0]
            result.set("framework", framework, source)
            result.warn(f"{framework} is declared in {source.split(':')[0]} but no source file imports it; "
                        "check the start command")
            return result
        undeclared = self._imported_only(ctx, language)
        if undeclared is not None:
            framework, where = undeclared
            result.set("framework", framework, where)
            if framework != "net/http":
                result.warn(f"{where} imports {framework} but no manifest declares it; add it to the dependencies")
        return result

    @staticmethod
    def _imported_only(ctx: DetectionContext, language: str) -> tuple[str, str] | None:
        """A framework used in source but not declared (or Go's standard net/http)."""
        for framework, names in FRAMEWORKS[language]:
            if language == "node" and framework == "next":
                continue  # next needs the package installed; markers alone are not enough
            for name in names:
                where = imported_in(ctx, language, framework, name)
                if where is not None:
                    return framework, where
        if language == "go":
            where = go_net_http(ctx)
            if where is not None:
                return "net/http", where
        return None
