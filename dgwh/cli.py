"""``dgwh <command> [arguments]``: every command of the warehouse under one name (the make targets call it).

Built on click: ``--help`` on any command prints its help and does nothing else (the modules behind the
commands are imported only when a command runs), ``--version`` prints the version, a mistyped command is
named with the nearest ones. A command's work is its module's; the commands whose module already parses its
own options (``argparse``, which never acts on ``--help`` either) hand it their arguments unchanged.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Callable
from typing import Any

import click

DISTRIBUTION = "dg-warehouse"
# Commands whose module parses its own arguments: name -> (module, what it does).
OWN_ARGUMENTS: dict[str, tuple[str, str]] = {
    "sample": ("sampledata.generate", "Write the sample landing zone (--if-empty, --for-run, --scale N)"),
    "progress": ("nightly.progress", "Run a DAG test printing one line per finished task"),
    "report": ("reporting.nightly", "Write the nightly HTML report"),
    "docs": ("reporting.serve", "Serve the report, GX Data Docs and dbt docs read-only (serve | stop)"),
    "bench": ("bench.run", "Run the benchmarks"),
    "prod-check": ("prodcheck.__main__", "Run the compose topology as processes and the operator scenarios"),
}


def _exit(code: object) -> None:
    """End with a module main's return value (an int, or None for success)."""
    raise SystemExit(0 if code is None else code)


def _main_of(module: str) -> Callable[..., Any]:
    return importlib.import_module(module).main


class Commands(click.Group):
    """A group that names a mistyped command with its nearest matches and lists each command's whole first line."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, (cmd.short_help or (cmd.help or "").split("\n")[0]).rstrip("."))
                for name in self.list_commands(ctx) if (cmd := self.get_command(ctx, name)) is not None]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                           list[str]]:
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            near = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            ctx.fail(f"no such command {name!r}.{hint} (dgwh --help lists them)")
        return super().resolve_command(ctx, args)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name=DISTRIBUTION, prog_name="dgwh")
def cli() -> None:
    """Every command of the Thailand digital-government warehouse (the make targets call these)."""


class OwnArguments(click.Command):
    """A command whose module parses its arguments: they reach it exactly as typed (``--`` included)."""

    def __init__(self, name: str, module: str, text: str) -> None:
        super().__init__(name, callback=self.run, help=f"{text}. Its options: dgwh {name} --help.",
                         short_help=text, add_help_option=False)
        self.module = module

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return ctx.args

    def run(self) -> None:
        args = click.get_current_context().args
        sys.argv = [f"dgwh {self.name}", *args]
        main = _main_of(self.module)
        _exit(main(args) if main.__code__.co_argcount else main())


for _name, (_module, _text) in OWN_ARGUMENTS.items():
    cli.add_command(OwnArguments(_name, _module, _text))


@cli.command()
def manifest() -> None:
    """dbt parse: the manifest the DAGs render their dbt tasks from."""
    from nightly.transform import build_manifest

    click.echo(build_manifest())


@cli.group()
def warehouse() -> None:
    """The warehouse: its URLs (the embedded one started if needed), a check, a stop."""


for _command, _text in {"url": "print the pipeline's warehouse URL (password masked in logs)",
                        "bi-url": "print the read-only bi_reader URL",
                        "check": "check the warehouse answers (starting the embedded one)",
                        "stop": "stop the embedded warehouse; data stays in the state folder"}.items():
    warehouse.command(_command, help=f"{_text[0].upper()}{_text[1:]}.")(
        lambda _c=_command: _exit(_main_of("ground.warehouse")([_c])))


@cli.command("explain-failure")
@click.argument("log", type=click.Path(dir_okay=False))
def explain_failure(log: str) -> None:
    """The failed task and its error, in one line, from an Airflow LOG."""
    _exit(_main_of("nightly.runerror")([log]))


@cli.command()
def summary() -> None:
    """Print the newest run's summary (exit 1 unless that run succeeded)."""
    _exit(_main_of("nightly.summary")())


@cli.command("backfill-range")
@click.option("--from", "fy_from", envvar="FROM", default="", metavar="FY_BE",
              help="first fiscal year, Buddhist Era (or FROM in the environment)")
@click.option("--to", "fy_to", envvar="TO", default="", metavar="FY_BE",
              help="last fiscal year, Buddhist Era (or TO in the environment)")
def backfill_range(fy_from: str, fy_to: str) -> None:
    """Check a backfill's range and print dg_backfill's conf (JSON)."""
    from nightly.backfill_range import conf_line

    _exit(conf_line(fy_from, fy_to))


@cli.command()
@click.argument("file", envvar="FILE", default="", metavar="FILE")
@click.option("--reason", envvar="REASON", default="", help="why (recorded with the withdrawal; or REASON)  [required]")
def withdraw(file: str, reason: str) -> None:
    """Withdraw a loaded FILE (its path as the summary shows it, or its file id) and rebuild the marts.

    FILE may also come from the environment (FILE=…), as `make withdraw` passes it."""
    from nightly.withdraw import USAGE, withdraw_and_rebuild

    if not file:
        click.echo(USAGE, err=True)
        _exit(2)
    _exit(withdraw_and_rebuild(file, reason))


@cli.group()
def lock() -> None:
    """The warehouse's run lock."""


@lock.command()
def status() -> None:
    """Say who holds the run lock, if anyone."""
    _exit(_main_of("nightly.runlock")(["status"]))


@lock.command()
@click.option("--force", envvar="FORCE", is_flag=True, help="release it even while its holder still runs here")
def unlock(force: bool) -> None:
    """Release a run lock whose holder is gone."""
    _exit(_main_of("nightly.runlock")(["unlock"], force=force))


@cli.command()
def pools() -> None:
    """Create or resize the Airflow pool of warehouse tasks."""
    _exit(_main_of("nightly.pools")())


@cli.command()
@click.option("--check", is_flag=True, help="write nothing; list what is stale (exit 1 if anything is)")
def templates(check: bool) -> None:
    """Regenerate docs/sources.md, the agencies' templates and the generated staging models."""
    _exit(_main_of("reporting.templates")(["--check"] if check else []))


@cli.group(invoke_without_command=True)
@click.pass_context
def bi(ctx: click.Context) -> None:
    """Superset on the marts as bi_reader: `dgwh bi` starts it (installing its virtualenv the first time)."""
    if ctx.invoked_subcommand is None:
        _exit(_main_of("bi.local")([]))


@bi.command("stop")
def bi_stop() -> None:
    """Stop the Superset this checkout started."""
    _exit(_main_of("bi.local")(["stop"]))


@cli.group(invoke_without_command=True)
@click.pass_context
def portal(ctx: click.Context) -> None:
    """The agencies' submission page: `dgwh portal` serves it (prints the URL and the first operator login)."""
    if ctx.invoked_subcommand is None:
        _exit(_main_of("portal.serve")([]))


@portal.command("add-user")
@click.argument("username")
@click.option("--agency", "agency_id", metavar="AGENCY_ID", help="the agency the account sends for (e.g. D0013)")
@click.option("--operator", is_flag=True, help="an operator: sees every agency")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin (else one is generated and "
                                                     "printed once)")
@click.option("--reset", is_flag=True, help="give an existing account a new password (and this role)")
def portal_add_user(username: str, agency_id: str | None, operator: bool, password_stdin: bool, reset: bool) -> None:
    """Create a portal account for one agency (--agency) or an operator (--operator)."""
    from ground.warehouse import connect
    from portal.accounts import AGENCY, OPERATOR, AccountError, add_user

    if operator == bool(agency_id):
        raise click.UsageError("give exactly one of --agency AGENCY_ID or --operator")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        with connect(autocommit=True) as conn:
            user, generated = add_user(conn, username, OPERATOR if operator else AGENCY, agency_id, password, reset)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    who = "operator" if user.is_operator else f"agency {user.agency_id}"
    click.echo(f"portal user {user.username} ({who}) {'updated' if reset else 'created'}")
    if generated:
        click.echo(f"password: {generated}  (shown once; stored hashed only)")


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="dgwh", standalone_mode=True)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 1
        return 0 if exc.code is None else int(exc.code)
    return 0
