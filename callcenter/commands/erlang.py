"""`callcenter erlang`: staffing for one interval (Erlang C, optionally Erlang A)."""

from __future__ import annotations

import argparse
import math

from callcenter import erlang
from callcenter.errors import UserError

HELP = "Required agents for a call volume and AHT (Erlang C; Erlang A with --patience)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--calls-per-hour", type=float, required=True, help="offered contacts per hour")
    p.add_argument("--aht", type=float, required=True, help="average handle time, seconds")
    p.add_argument("--target", type=float, default=0.8, help="service-level target, 0-1 (default 0.8)")
    p.add_argument(
        "--threshold", type=float, default=20, help="service-level threshold T, seconds (default 20)"
    )
    p.add_argument("--shrinkage", type=float, default=0.0, help="share of paid time not available, 0-1")
    p.add_argument("--patience", type=float, default=None, help="mean caller patience, seconds (Erlang A)")


def run(args: argparse.Namespace) -> int:
    if args.calls_per_hour < 0 or args.aht <= 0 or args.threshold < 0:
        raise UserError("--calls-per-hour must be >= 0, --aht > 0 and --threshold >= 0")
    if not 0 < args.target < 1 or not 0 <= args.shrinkage < 1:
        raise UserError("--target must be in (0, 1) and --shrinkage in [0, 1)")
    traffic = args.calls_per_hour * args.aht / 3600
    r = erlang.required_agents_c(traffic, args.aht, args.target, args.threshold)
    print(f"traffic: {traffic:.2f} Erlangs")
    print(
        f"Erlang C: {r.agents} agents, SL {r.service_level:.1%} in {args.threshold:g} s, "
        f"ASA {r.asa_s:.0f} s, occupancy {r.occupancy:.0%}"
    )
    if args.shrinkage:
        seats = math.ceil(round(r.agents / (1 - args.shrinkage), 9))
        print(f"scheduled headcount at {args.shrinkage:.0%} shrinkage: {seats} agents")
    if args.patience:
        a = erlang.required_agents_a(
            args.calls_per_hour / 3600, args.aht, args.patience, args.target, args.threshold
        )
        print(
            f"Erlang A (patience {args.patience:g} s): {a.agents} agents, SL {a.service_level:.1%}, "
            f"abandon {a.p_abandon:.1%}, ASA {a.asa_s:.0f} s, occupancy {a.occupancy:.0%}"
        )
    return 0
