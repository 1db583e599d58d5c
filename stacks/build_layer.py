"""Build the deps layer for the zip functions: ``python -m stacks.build_layer``.

The public Powertools layer already brings aws-lambda-powertools, pydantic (+ pydantic-core,
annotated-types, typing-extensions) and aws-xray-sdk; the Lambda runtime brings boto3. What is
left of pyproject's runtime dependencies (pydantic-settings, GitPython and their own
dependencies) is downloaded as manylinux2014 aarch64 / CPython 3.12 wheels — no Docker, no
compiler — into build/layer/python, which the stack attaches as a layer when it exists.
Distributions another layer or the runtime already provides are removed after the install, so
two copies of pydantic can never meet on sys.path.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from stacks.constants import LAYER_DIR, ROOT

# Provided by the Lambda python3.12 runtime (boto3 and its closure).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six",
                              "urllib3"})
# Provided by the Powertools v3 layer (built with all extras).
POWERTOOLS_PROVIDED = frozenset({"aws-lambda-powertools", "pydantic", "pydantic-core", "annotated-types",
                                 "typing-extensions", "aws-xray-sdk", "wrapt"})
PROVIDED = RUNTIME_PROVIDED | POWERTOOLS_PROVIDED

PIP_PLATFORM = ("--platform", "manylinux2014_aarch64", "--only-binary=:all:", "--python-version", "3.12",
                "--implementation", "cp")


def normalize(name: str) -> str:
    """PEP 503 name: GitPython -> gitpython, typing_extensions -> typing-extensions."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """'pydantic-settings>=2.3,<3' -> 'pydantic-settings' (extras and markers dropped)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    if not match:
        raise ValueError(f"cannot read a package name from requirement {spec!r} in pyproject.toml")
    return normalize(match.group(1))


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """pyproject's [project.dependencies] minus what the runtime and the Powertools layer provide."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in deps if requirement_name(d) not in PROVIDED]


def prune(site: Path, provided: Iterable[str] = PROVIDED) -> list[str]:
    """Delete the distributions in ``provided`` from an install target, using their RECORD files.

    Returns the normalized names removed. Only files listed in a RECORD are deleted, then the
    directories those files leave empty.
    """
    wanted = {normalize(n) for n in provided}
    removed: list[str] = []
    for dist_info in sorted(site.glob("*.dist-info")):
        name = normalize(dist_info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        if name not in wanted:
            continue
        record = dist_info / "RECORD"
        paths = [line.split(",", 1)[0] for line in record.read_text().splitlines() if line.strip()]
        dirs: set[Path] = set()
        for rel in paths:
            target = (site / rel).resolve()
            if site.resolve() not in target.parents:
                continue  # never delete outside the layer (RECORD may list ../../bin scripts)
            if target.is_file():
                target.unlink()
            dirs.add(target.parent)
        for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            if directory.exists() and directory != site.resolve() and not any(directory.iterdir()):
                directory.rmdir()
        if dist_info.exists():
            shutil.rmtree(dist_info)
        removed.append(name)
    return removed


def build(out: Path = LAYER_DIR, requirements: list[str] | None = None) -> list[str]:
    """pip-install the requirements for Lambda arm64/python3.12 into out/python; returns pruned names."""
    requirements = runtime_requirements() if requirements is None else requirements
    site = out / "python"
    if out.exists():
        shutil.rmtree(out)
    site.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(site),
           *PIP_PLATFORM, *requirements]
    subprocess.run(cmd, check=True)
    removed = prune(site)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: nothing runs them in Lambda
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=LAYER_DIR, help=f"layer directory (default {LAYER_DIR})")
    args = parser.parse_args(argv)
    requirements = runtime_requirements()
    print(f"installing {', '.join(requirements)} for python3.12 arm64 into {args.out / 'python'}")
    try:
        removed = build(args.out, requirements)
    except subprocess.CalledProcessError as exc:
        print(f"pip failed (exit {exc.returncode}); check the network access to the package index "
              "and that every requirement has a manylinux2014_aarch64 or pure-Python wheel.", file=sys.stderr)
        return 1
    print(f"removed (provided by the runtime or the Powertools layer): {', '.join(removed) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
