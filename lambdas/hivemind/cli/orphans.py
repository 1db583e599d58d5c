"""`hivemind orphans [--delete] [--yes] [--json]`: list (and delete) what HiveMind left behind.

``list_orphans`` and ``delete_all`` are the plain functions (tests call them); ``run`` parses
arguments, asks for confirmation and renders. The work runs in this process against the target
(the local cloud or the AWS account), with the same logic the scheduled sweep uses.
Exit code 0 means nothing is left; 1 means orphans remain (listed, or not deletable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from hivemind import constants
from hivemind.errors import HiveMindError
from hivemind.logic.orphans import DeleteFailure, Orphan

EXIT_OK, EXIT_LEFT = 0, 1


class OrphansReport(BaseModel):
    count: int
    monthly_usd: float
    orphans: list[Orphan]
    deleted: list[str] | None = None  # None: nothing was deleted (listing only)
    failed: list[DeleteFailure] | None = None
    remaining: int  # orphans found after the run: 0 is the goal


def add_parser(sub: Any, common: Callable[..., None]) -> argparse.ArgumentParser:
    """Register `orphans` on the `hivemind` sub-parsers (``common`` adds --json/--local/--aws)."""
    sp = sub.add_parser(
        "orphans",
        help="list resources tagged by HiveMind that no live deployment owns (--delete removes them)",
        description="Every resource tagged hivemind:deployment-id whose deployment is destroyed, unknown or "
                    "failed past its cleanup timer, with its estimated monthly cost. Exit 0 when none is left.",
    )
    sp.add_argument("--delete", action="store_true", help="delete them, in dependency order")
    sp.add_argument("--yes", action="store_true", help="with --delete: do not ask for confirmation")
    common(sp)
    sp.set_defaults(func=run)
    return sp


def _ports(target: Any) -> Any:
    from hivemind.adapters.janitor import ResourceJanitor
    from hivemind.adapters.state_store import DynamoStateStore
    from hivemind.adapters.tagging import TaggedResources
    from hivemind.logic.ports import Ports
    from hivemind.settings import get_settings

    get_settings.cache_clear()  # the target may just have set HIVEMIND_* (local cloud)
    return Ports(settings=get_settings(), store=DynamoStateStore(target.table), events=None, objects=None,
                 stacks=None, commands=None, fleet=None, probe=None, repos=None,
                 tagged=TaggedResources(target.region), extra={"janitor": ResourceJanitor(target.region)})


def list_orphans(target: Any) -> OrphansReport:
    """The orphans of ``target`` with their costs (nothing is changed)."""
    from hivemind.logic.orphans import find_orphans

    found = find_orphans(_ports(target))
    return OrphansReport(count=len(found), monthly_usd=round(sum(o.monthly_usd for o in found), 2), orphans=found,
                         remaining=len(found))


def delete_all(target: Any, listed: OrphansReport) -> OrphansReport:
    """Delete what ``listed`` found, then list again: ``remaining`` is what a fresh search still finds."""
    from hivemind.logic.orphans import delete_orphans, find_orphans

    ports = _ports(target)
    report = delete_orphans(listed.orphans, ports)
    left = find_orphans(ports)
    return listed.model_copy(update={"deleted": report.deleted, "failed": report.failed, "remaining": len(left)})


def _target(args: argparse.Namespace) -> Any:
    from hivemind.cli import target

    local = True if getattr(args, "local", False) else (False if getattr(args, "aws", False) else None)
    return target.resolve(local, getattr(args, "stack_name", constants.CONTROL_PLANE_STACK), start_local=False)


def _confirm(listed: OrphansReport) -> bool:
    if not sys.stdin.isatty():
        raise HiveMindError(f"refusing to delete {listed.count} resource(s) without confirmation",
                            remediation="Pass --yes to delete without a prompt.", stage="cli")
    answer = input(f"Delete these {listed.count} resource(s) (~${listed.monthly_usd:.2f}/month)? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def run(args: argparse.Namespace) -> int:
    if args.yes and not args.delete:
        raise HiveMindError("--yes only applies to --delete", stage="cli",
                            remediation="Use `hivemind orphans --delete --yes`, or drop --yes to only list.")
    target = _target(args)
    report = list_orphans(target)
    if args.delete and report.count:
        if not args.json:
            _render(report)
        if not args.yes and not _confirm(report):
            _console(stderr=True).print("aborted; nothing was deleted")
            return EXIT_LEFT
        report = delete_all(target, report)
    if args.json:
        sys.stdout.write(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    elif report.deleted is None:
        _render(report)
    else:
        _render_deleted(report)
    return EXIT_OK if report.remaining == 0 else EXIT_LEFT


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _render(report: OrphansReport) -> None:
    con = _console()
    if not report.count:
        con.print("no orphans: every resource tagged by HiveMind belongs to a live deployment")
        return
    from rich.table import Table

    table = Table(title=f"{report.count} orphaned resource(s)")
    for col in ("arn", "deployment", "reason", "$/month"):
        table.add_column(col, justify="right" if col == "$/month" else "left", overflow="fold")
    for o in report.orphans:
        cost = f"{o.monthly_usd:.2f}" + (" [dim](no price)[/]" if o.cost_note.startswith("$0") else "")
        table.add_row(o.arn, o.deployment_id or "(none)", o.reason, cost)
    table.add_row("[bold]total", "", "", f"[bold]{report.monthly_usd:.2f}")
    con.print(table)
    if report.deleted is None:
        con.print("delete them with `hivemind orphans --delete`")


def _render_deleted(report: OrphansReport) -> None:
    con = _console()
    deleted = set(report.deleted or [])
    saved = sum(o.monthly_usd for o in report.orphans if o.arn in deleted)
    con.print(f"[green]deleted[/] {len(deleted)} resource(s) · saves ~${saved:.2f}/month")
    for failure in report.failed or []:
        con.print(f"  [red]not deleted[/] {failure.arn}: {failure.error}")
    if report.remaining:
        con.print(f"[yellow]{report.remaining} orphan(s) remain[/]: see the errors above, fix the cause and rerun "
                  "`hivemind orphans --delete`")
    else:
        con.print("nothing tagged by HiveMind is left without a live deployment")
