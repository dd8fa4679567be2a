"""`callcenter` command line: one entry point, one module per subcommand.

Each subcommand lives in ``callcenter/commands/<name>.py`` and exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Errors meant for the user are raised as
``callcenter.errors.UserError`` and printed as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from callcenter.config import DATA_DIR_ENV
from callcenter.errors import UserError

COMMANDS = ["simulate", "ingest", "build", "serve", "erlang", "bench", "rollback"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _load(name: str):
    try:
        return importlib.import_module(f"callcenter.commands.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"callcenter.commands.{name}":
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="callcenter", description="Contact-center data warehouse and BI stack.")
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"instance folder holding landing/, warehouse/, serving/, alerts and secrets "
        f"(default: ${DATA_DIR_ENV} or ./data)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = _load(name)
        if module is None:
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    if args.data_dir:
        os.environ[DATA_DIR_ENV] = args.data_dir  # so child processes (dbt, dagster) see the same instance
    try:
        return int(args._run(args) or 0)
    except (UserError, FileNotFoundError) as e:
        sys.stderr.write(f"callcenter {args.command}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"callcenter {args.command}: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
