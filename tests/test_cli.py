import subprocess
import sys

from callcenter import cli


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "callcenter.cli", *args], capture_output=True, text=True)


def test_every_subcommand_has_help():
    parser = cli.build_parser()
    names = parser._subparsers._group_actions[0].choices.keys()
    assert "erlang" in names
    for name in names:
        r = run_cli(name, "--help")
        assert r.returncode == 0, (name, r.stderr)
        assert "usage: callcenter" in r.stdout


def test_bad_arguments_give_one_line_and_nonzero_exit():
    r = run_cli("erlang", "--aht", "300")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "--calls-per-hour" in r.stderr


def test_invalid_values_are_user_errors_not_tracebacks():
    r = run_cli("erlang", "--calls-per-hour", "120", "--aht", "-1")
    assert r.returncode == 2
    assert r.stderr.startswith("callcenter erlang: error:") and "Traceback" not in r.stderr


def test_unknown_command_fails():
    r = run_cli("no-such-command")
    assert r.returncode == 2 and "Traceback" not in r.stderr
