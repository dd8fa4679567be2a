"""`callcenter simulate`: write realistic landing files (and the ground truth) for a simulated center."""

from __future__ import annotations

import argparse
from datetime import date

from callcenter.config import data_paths
from callcenter.errors import UserError

HELP = "Simulate a contact center and write every landing feed plus ground truth (deterministic per seed)."


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from e


def add_arguments(p: argparse.ArgumentParser) -> None:
    from simulator.defaults import DEFAULT_START, TELEPHONY

    p.add_argument("--days", type=int, required=True, help="number of days to simulate")
    p.add_argument(
        "--start",
        type=_date,
        default=DEFAULT_START,
        help=f"first day, YYYY-MM-DD (default {DEFAULT_START}: 35 days then cover the London DST switch)",
    )
    p.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same files")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="volume multiplier (1 = ~3,000 contacts/day; --days 35 --scale 97 = ~10M contacts)",
    )
    size.add_argument("--agents", type=int, default=None, help="size the center by head count instead")
    p.add_argument("--telephony", choices=TELEPHONY, default="canonical", help="how the calls are rendered")
    p.add_argument(
        "--dirty", action="store_true", help="inject realistic faults (listed in truth/fault_manifest.json)"
    )
    p.add_argument(
        "--if-empty", action="store_true", help="do nothing when the landing folder already has files"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from simulator import simulate

    if args.days < 1:
        raise UserError("--days must be >= 1")
    if args.scale <= 0 or (args.agents is not None and args.agents < 5):
        raise UserError("--scale must be > 0 and --agents >= 5")
    paths = data_paths(args.data_dir)
    if args.if_empty and paths.landing.is_dir() and any(p.is_file() for p in paths.landing.rglob("*")):
        print(f"landing folder {paths.landing} already has files: nothing simulated (--if-empty)")
        return 0
    paths.ensure()
    summary = simulate(
        paths.root,
        days=args.days,
        start=args.start,
        seed=args.seed,
        scale=args.scale,
        telephony=args.telephony,
        dirty=args.dirty,
        progress=not args.no_progress,
        agents=args.agents,
    )
    print(
        f"simulated {summary.days} days from {summary.start}: {summary.contacts:,} contacts, "
        f"{summary.segments:,} segments, {summary.agents} agents, {summary.agent_state_rows:,} agent states, "
        f"{summary.survey_responses:,} survey responses in {summary.seconds:.1f} s"
    )
    print(
        f"landing: {paths.landing}  truth: {paths.truth}"
        + ("  (faults: truth/fault_manifest.json)" if args.dirty else "")
    )
    return 0
