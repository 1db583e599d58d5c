"""Analyze: fetch the repository at one ref, detect the stack, pack and store the release."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel

from hivemind import constants
from hivemind.analysis.analyzer import analyze_directory
from hivemind.logic.common import enter_stage, log
from hivemind.logic.ports import Ports
from hivemind.logic.release import pack
from hivemind.models import Release, TechStack
from hivemind.models.tasks import DeployRequest


class AnalyzeResult(BaseModel):
    stack: TechStack
    commit: str
    release_id: str | None = None
    summary: str


def summarize(stack: TechStack) -> str:
    parts = [f"{stack.language} {stack.runtime_version or ''}".strip()]
    if stack.framework:
        parts.append(stack.framework)
    parts += [stack.start_command, f"port {stack.port}"]
    if stack.database:
        parts.append(stack.database)
    return " · ".join(parts)


def analyze(request: DeployRequest, ports: Ports) -> AnalyzeResult:
    """Clone + detect. For a real deploy also record the stack and publish the release."""
    state = None
    if not request.what_if:
        state = enter_stage(ports, ports.store.get(request.deployment_id), "analyze")
    repo = request.repo or (state.repo if state else "")
    ref = request.ref if request.ref is not None else (state.ref if state else None)
    max_mb = request.options.max_repo_size_mb or ports.settings.max_repo_size_mb
    work = Path(ports.settings.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{request.deployment_id}-", dir=work))
    try:
        checkout = ports.repos.fetch_repository(repo, ref, tmp / "src", max_size_mb=max_mb)
        stack = analyze_directory(checkout.path)
        if state is None:
            return AnalyzeResult(stack=stack, commit=checkout.commit, summary=summarize(stack))
        release = _publish_release(ports, state, checkout.path, checkout.commit, ref, tmp)
        new = state.model_copy(
            update={"stack": stack, "commit": checkout.commit, "release": release,
                    "releases": max(state.releases, release.number)}
        )
        if state.release and state.release.id != release.id:
            new.previous_release = state.release
        ports.store.save(new)
        log(ports, state.id, "analyze", summarize(stack), commit=checkout.commit, release=release.id,
            warnings=stack.warnings)
        return AnalyzeResult(stack=stack, commit=checkout.commit, release_id=release.id, summary=summarize(stack))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish_release(ports: Ports, state, src: Path, commit: str, ref: str | None, tmp: Path) -> Release:
    archive = tmp / "release.tar.gz"
    sha = pack(src, archive)
    current = state.release
    if current is not None and current.sha256 == sha:
        return current  # unchanged source: same release, the instances reuse their build
    number = state.releases + 1
    release_id = f"r-{number}"
    key = f"{constants.RELEASES_PREFIX}{state.id}/{release_id}.tar.gz"
    ports.objects.put_file(key, archive, sha256=sha)
    return Release(
        id=release_id, number=number, commit=commit, ref=ref, s3_key=key, sha256=sha,
        size_bytes=archive.stat().st_size,
    )
