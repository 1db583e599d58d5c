"""`hivemind` entry point: argument parsing and rendering only; the work is in cli.commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hivemind import __version__, constants
from hivemind.errors import HiveMindError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


# --- analyze / plan -------------------------------------------------------------------------------
def do_analyze(args: argparse.Namespace) -> int:
    from hivemind.cli.commands import analyze_repo

    result = analyze_repo(args.repo, args.ref, args.max_size_mb)
    if args.json:
        _print_json(result.model_dump(mode="json"))
        return EXIT_OK
    _render_stack(result.model_dump(mode="json"))
    return EXIT_OK


def do_plan(args: argparse.Namespace) -> int:
    from hivemind.cli.commands import plan_repo

    out, template = plan_repo(args.repo, args.ref, args.preset, args.region, args.budget, args.max_size_mb)
    if args.template:
        Path(args.template).write_text(json.dumps(template, indent=2) + "\n")
    if args.json:
        _print_json(out)
        return EXIT_OK
    _render_stack(out)
    con = _console()
    plan, cost = out["plan"], out["cost"]
    con.print(f"\n[bold]Plan[/]  {plan['preset']} · {plan['region']} · {plan['instance_type']} × "
              f"{plan['desired_capacity']} · {len(out['resources'])} resources"
              + (f" · DB {plan['database']['engine']} {plan['database']['instance_class']}" if plan.get("database") else ""))
    from rich.table import Table

    table = Table(title=f"Monthly cost estimate (on-demand, {cost['region']}, prices of {cost['price_date']})")
    for col in ("resource", "item", "USD/month"):
        table.add_column(col, justify="right" if col == "USD/month" else "left")
    for line in cost["lines"]:
        table.add_row(line["resource"], line["item"], f"{line['monthly_usd']:.2f}")
    table.add_row("[bold]total", "", f"[bold]{cost['monthly_usd']:.2f}")
    con.print(table)
    if args.template:
        con.print(f"template written to {args.template}")
    return EXIT_OK


def _render_stack(out: dict[str, Any]) -> None:
    con = _console()
    stack = out["stack"]
    src = stack.get("sources", {})
    con.print(f"[bold]{out['repo']}[/] @ {out['commit'][:12]}")
    for key in ("language", "framework", "runtime_version", "package_manager", "build_command", "start_command",
                "release_command", "port", "database", "embedded_database"):
        if stack.get(key) is not None:
            con.print(f"  {key:<17} {stack[key]!s:<40} [dim]{src.get(key, '')}[/]")
    con.print(f"  {'reads PORT':<17} {'yes' if stack.get('reads_port_env') else 'no'}")
    con.print(f"  {'health path':<17} {stack.get('health_path')}")
    if stack.get("env_vars"):
        con.print(f"  {'env vars':<17} {', '.join(stack['env_vars'])}")
    for warning in stack.get("warnings", []):
        con.print(f"  [yellow]warning[/] {warning}")
    if stack.get("other_manifests"):
        con.print(f"  [dim]also found: {', '.join(stack['other_manifests'])}[/]")


# --- control-plane commands ----------------------------------------------------------------------
def _target(args: argparse.Namespace, start_local: bool = True):
    from hivemind.cli import target

    local = True if getattr(args, "local", False) else (False if getattr(args, "aws", False) else None)
    return target.resolve(local, getattr(args, "stack_name", constants.CONTROL_PLANE_STACK), start_local)


class _Progress:
    """Prints each stage's log lines as the pipeline writes them."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.con = _console(stderr=True)

    def __call__(self, entry) -> None:
        if self.quiet or entry.message.endswith(" started"):
            return
        mark = {"ERROR": "[red]✘[/]", "WARNING": "[yellow]![/]"}.get(entry.level, "[green]✔[/]")
        self.con.print(f"  {mark} {entry.stage:<9} {entry.message}")


def do_deploy(args: argparse.Namespace) -> int:
    from hivemind.cli import commands
    from hivemind.models.tasks import DeployOptions

    target = _target(args)
    options = DeployOptions(auto_rollback=args.auto_rollback, auto_fix=args.auto_fix, budget_usd=args.budget,
                            poll_interval_s=args.poll_interval)
    if not args.json:
        where = "local cloud" if target.local else f"AWS {target.region}"
        _console(stderr=True).print(f"[bold]hivemind deploy[/] {args.repo} → {where}")
    outcome = commands.deploy(target, args.repo, ref=args.ref, preset=args.preset, region=args.region,
                              what_if=args.what_if, options=options, wait=not args.no_wait,
                              timeout_s=args.timeout, on_log=_Progress(args.json))
    return _finish(args, outcome)


def do_retry(args: argparse.Namespace) -> int:
    from hivemind.cli import commands

    outcome = commands.retry(_target(args), args.id, fix=args.fix, on_log=_Progress(args.json),
                             timeout_s=args.timeout)
    return _finish(args, outcome)


def do_destroy(args: argparse.Namespace) -> int:
    from hivemind.cli import commands

    target = _target(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise HiveMindError(f"refusing to destroy {args.id} without confirmation",
                                remediation="Pass --yes to destroy without a prompt.", stage="cli")
        answer = input(f"Destroy deployment {args.id} and every resource it owns? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            _console(stderr=True).print("aborted")
            return EXIT_FAILED
    outcome = commands.destroy(target, args.id, on_log=_Progress(args.json), timeout_s=args.timeout,
                               skip_snapshot=args.skip_snapshot)
    return _finish(args, outcome)


def do_rollback(args: argparse.Namespace) -> int:
    from hivemind.cli import commands

    outcome = commands.rollback(_target(args), args.id, on_log=_Progress(args.json), timeout_s=args.timeout)
    return _finish(args, outcome)


def _finish(args: argparse.Namespace, outcome) -> int:
    if args.json:
        _print_json(outcome.model_dump(mode="json"))
        return EXIT_OK if outcome.ok or outcome.execution_status == "RUNNING" else EXIT_FAILED
    con = _console()
    if outcome.execution_status == "RUNNING":
        con.print(f"still running: follow it with `hivemind status {outcome.id}`")
        return EXIT_OK
    if outcome.ok:
        if outcome.what_if:
            cost = outcome.what_if.get("cost", {})
            con.print(f"[green]what-if[/] {outcome.id}: {len(outcome.what_if.get('resources', []))} resources, "
                      f"~${cost.get('monthly_usd', 0):.2f}/month on AWS; nothing was created")
        elif outcome.status == "destroyed":
            saved = f" · saves ~${outcome.monthly_usd:.2f}/month" if outcome.monthly_usd else ""
            con.print(f"[green]destroyed[/] {outcome.id}: nothing tagged with it remains{saved}")
        else:
            cost = f" · ~${outcome.monthly_usd:.2f}/month on AWS" if outcome.monthly_usd else ""
            con.print(f"[green]deployed[/] {outcome.id} release {outcome.release}{cost}")
            label = "https-less local URL" if outcome.local else "URL"
            con.print(f"{label}: {outcome.url}")
        return EXIT_OK
    err = outcome.error or {}
    con.print(f"[red]failed[/] {outcome.id} at stage [bold]{outcome.stage or '?'}[/]: "
              f"{err.get('type', outcome.execution_status)}: {err.get('message', '')}")
    if err.get("remediation"):
        con.print(f"  what to do: {err['remediation']}")
    if outcome.diagnosis:
        con.print(f"  diagnosis ({outcome.diagnosis.get('rule')}): {outcome.diagnosis.get('summary')}")
        for line in outcome.diagnosis.get("evidence", [])[:5]:
            con.print(f"    [dim]{line}[/]")
    con.print(f"  logs: hivemind logs {outcome.id}  ·  retry: hivemind retry {outcome.id}  ·  "
              f"clean up: hivemind destroy {outcome.id} --yes")
    return EXIT_FAILED


def do_status(args: argparse.Namespace) -> int:
    from hivemind.cli import commands

    target = _target(args, start_local=False)
    state = commands.status(target, args.id)
    if args.follow:
        if not state.execution_arn:
            raise HiveMindError(f"deployment {args.id} has no execution to follow", stage="cli",
                                remediation="Start one with `hivemind deploy`, `retry` or `destroy`.")
        outcome = commands.follow(target, args.id, state.execution_arn, timeout_s=args.timeout,
                                  on_log=_Progress(args.json))
        return _finish(args, outcome)
    if args.json:
        _print_json(state.model_dump(mode="json"))
        return EXIT_OK
    con = _console()
    con.print(f"[bold]{state.id}[/] {state.status.value} (stage {state.stage}) · {state.repo}")
    if state.url:
        con.print(f"  url      {state.url}")
    if state.release:
        con.print(f"  release  {state.release.id} ({state.release.commit[:12]})")
    if state.cost:
        con.print(f"  cost     ~${state.cost.monthly_usd:.2f}/month on AWS")
    if state.error:
        con.print(f"  [red]error[/]    {state.error.type} in {state.error.stage}: {state.error.message}")
        con.print(f"  what to do: {state.error.remediation}")
    return EXIT_OK


def do_list(args: argparse.Namespace) -> int:
    from hivemind.cli import commands

    states = commands.list_deployments(_target(args, start_local=False))
    if args.json:
        _print_json([s.model_dump(mode="json", exclude={"stack", "plan"}) for s in states])
        return EXIT_OK
    from rich.table import Table

    table = Table()
    for col in ("id", "status", "stage", "release", "url", "updated"):
        table.add_column(col, no_wrap=col in {"id", "url", "updated"})
    for s in states:
        table.add_row(s.id, s.status.value, s.stage, s.release.id if s.release else "", s.url or "",
                      s.updated_at.strftime("%Y-%m-%d %H:%M"))
    _console().print(table if states else "no deployments")
    return EXIT_OK


def do_logs(args: argparse.Namespace) -> int:
    from hivemind.cli import commands

    out = commands.logs(_target(args, start_local=False), args.id)
    if args.json:
        _print_json(out)
        return EXIT_OK
    con = _console()
    for entry in out["stage_logs"]:
        con.print(f"{entry['at'][:19]} {entry['level']:<7} {entry['stage']:<9} {entry['message']}")
    for name, text in out["app_logs"].items():
        con.print(f"\n[bold]== {name} ==[/]")
        con.print(text, markup=False)
    if out.get("app_logs_hint"):
        con.print(f"\n{out['app_logs_hint']}")
    return EXIT_OK


def do_local(args: argparse.Namespace) -> int:
    from hivemind.local import cloud

    if getattr(args, "purge", False) and args.action != "down":
        raise HiveMindError(f"--purge goes with `hivemind local down`, not {args.action}",
                            remediation="Run `hivemind local down --purge`.", stage="cli")
    if args.action == "up":
        info = cloud.up()
    elif args.action == "down":
        cloud.down(purge=args.purge)
        info = None
    else:
        info = cloud.status()
    if args.json:
        _print_json(info.model_dump(mode="json") if info else {"running": False})
        return EXIT_OK
    con = _console()
    con.print(f"local cloud: running at {info.endpoint_url} (pid {info.pid}, state {info.state_dir})" if info
              else "local cloud: not running")
    return EXIT_OK


# --- parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hivemind", description="Deploy a web app from a Git repository to AWS "
                                "(or the embedded local cloud) and keep it healthy.")
    p.add_argument("--version", action="version", version=f"hivemind {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser, target: bool = True) -> None:
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        if target:
            g = sp.add_mutually_exclusive_group()
            g.add_argument("--local", action="store_true", help="use the embedded local cloud")
            g.add_argument("--aws", action="store_true", help="use the AWS account of your credentials")
            sp.add_argument("--stack-name", default=constants.CONTROL_PLANE_STACK,
                            help="control-plane stack (AWS)")

    def repo_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("repo", help="git URL (https, git@host:owner/repo, git://) or a local path")
        sp.add_argument("--ref", help="branch, tag or commit (default: the default branch)")
        sp.add_argument("--max-size-mb", type=int, default=200, help="repository size limit")

    sp = sub.add_parser("analyze", help="show what HiveMind finds in a repository")
    repo_args(sp)
    common(sp, target=False)
    sp.set_defaults(func=do_analyze)

    sp = sub.add_parser("plan", help="analysis + deployment plan + template + monthly cost (creates nothing)")
    repo_args(sp)
    sp.add_argument("--preset", choices=["stage-1", "production"], default="stage-1")
    sp.add_argument("--region", default="us-east-1")
    sp.add_argument("--template", metavar="FILE", help="write the CloudFormation template (JSON)")
    sp.add_argument("--budget", type=float, metavar="USD", help="fail when the monthly estimate is above this")
    common(sp, target=False)
    sp.set_defaults(func=do_plan)

    sp = sub.add_parser("deploy", help="deploy (or redeploy) a repository")
    repo_args(sp)
    sp.add_argument("--preset", choices=["stage-1", "production"], default="stage-1")
    sp.add_argument("--region", default=None)
    sp.add_argument("--what-if", action="store_true", help="stop after the plan; create nothing")
    sp.add_argument("--budget", type=float, metavar="USD")
    sp.add_argument("--auto-rollback", action="store_true", help="destroy a failed first deploy")
    sp.add_argument("--auto-fix", action="store_true", help="apply safe automatic fixes")
    sp.add_argument("--poll-interval", type=int, default=None, help="seconds between polls of waits")
    sp.add_argument("--no-wait", action="store_true", help="start and return")
    sp.add_argument("--timeout", type=float, default=3600, help="seconds to follow the execution")
    common(sp)
    sp.set_defaults(func=do_deploy)

    sp = sub.add_parser("status", help="show a deployment")
    sp.add_argument("id")
    sp.add_argument("--follow", action="store_true",
                    help="follow its current execution until it settles (exit 1 when it fails)")
    sp.add_argument("--timeout", type=float, default=3600, help="seconds to follow")
    common(sp)
    sp.set_defaults(func=do_status)

    sp = sub.add_parser("logs", help="stage and app logs")
    sp.add_argument("id")
    common(sp)
    sp.set_defaults(func=do_logs)

    sp = sub.add_parser("list", help="list deployments")
    common(sp)
    sp.set_defaults(func=do_list)

    sp = sub.add_parser("retry", help="resume a failed deployment at the failed stage")
    sp.add_argument("id")
    sp.add_argument("--fix", action="store_true", help="first apply the diagnosis' safe automatic fix")
    sp.add_argument("--timeout", type=float, default=3600)
    common(sp)
    sp.set_defaults(func=do_retry)

    sp = sub.add_parser("destroy", help="delete everything a deployment owns")
    sp.add_argument("id")
    sp.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sp.add_argument("--skip-snapshot", action="store_true",
                    help="no final database snapshot (the data is gone for good)")
    sp.add_argument("--timeout", type=float, default=1800)
    common(sp)
    sp.set_defaults(func=do_destroy)

    sp = sub.add_parser("rollback", help="go back to the previous successful release")
    sp.add_argument("id")
    sp.add_argument("--timeout", type=float, default=3600)
    common(sp)
    sp.set_defaults(func=do_rollback)

    sp = sub.add_parser("local", help="the embedded local cloud")
    sp.add_argument("action", choices=["up", "down", "status"])
    sp.add_argument("--purge", action="store_true",
                    help="with down: also remove the saved state, sandboxes and database data (forget every deployment)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=do_local)

    from hivemind.cli import orphans as orphans_cli

    orphans_cli.add_parser(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except HiveMindError as exc:
        if getattr(args, "json", False):
            _print_json({"error": exc.to_dict()})
        else:
            con = _console(stderr=True)
            con.print(f"[red]error[/] ({exc.stage}): {exc.message}", markup=True)
            con.print(f"  what to do: {exc.remediation}")
        if args.debug:
            raise
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if args.debug:
            raise
        _console(stderr=True).print(f"[red]unexpected error[/]: {type(exc).__name__}: {exc}", markup=True)
        _console(stderr=True).print("  what to do: rerun with --debug and report it with the output.")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted; a started execution goes on: `hivemind status <id>` follows it")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
