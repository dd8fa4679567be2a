"""Erlang C / A against the check values of METRICS.md and textbook identities."""

import math
import subprocess
import sys

import numpy as np
import pytest

from callcenter import erlang


def test_metrics_md_check_values():
    # 120 calls/hour, AHT 300 s -> A = 10 Erlangs; 80/20 needs 14 agents (SL 86.7 %, ASA 13 s, occ 71 %).
    r = erlang.required_agents_c(120 * 300 / 3600, 300, 0.8, 20)
    assert r.agents == 14
    assert r.service_level == pytest.approx(0.867, abs=0.0005)
    assert r.asa_s == pytest.approx(13, abs=0.5)
    assert r.occupancy == pytest.approx(10 / 14)
    # 13 agents must miss the target, otherwise "smallest N" is wrong
    assert erlang.erlang_c_metrics(13, 10, 300, 20).service_level < 0.8


def test_erlang_c_small_cases_by_hand():
    # N=1: C(1, A) = A (M/M/1 P(wait) = rho)
    assert erlang.erlang_c(1, 0.5) == pytest.approx(0.5)
    # N=2, A=1: B = (1/2)/(1+1+1/2) = 0.2; C = 0.2 / (1 - 0.5*0.8) = 1/3
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang.erlang_c(3, 3.0) == 1.0  # unstable
    assert erlang.erlang_c(5, 0) == 0.0


def test_erlang_a_tends_to_erlang_c_with_infinite_patience():
    c = erlang.erlang_c_metrics(14, 10, 300, 20)
    a = erlang.erlang_a_metrics(14, 120 / 3600, 300, 1e9, 20)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-3)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-3)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-2)
    assert a.p_abandon == pytest.approx(0, abs=1e-4)


def test_erlang_a_needs_fewer_agents_when_callers_abandon():
    c = erlang.required_agents_c(10, 300, 0.8, 20)
    a = erlang.required_agents_a(120 / 3600, 300, 60, 0.8, 20)
    assert a.agents <= c.agents
    assert 0 < a.p_abandon < 0.5
    assert not math.isinf(a.asa_s)


def test_cli_prints_the_check_values():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "callcenter.cli",
            "erlang",
            "--calls-per-hour",
            "120",
            "--aht",
            "300",
            "--target",
            "0.8",
            "--threshold",
            "20",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "14 agents, SL 86.7% in 20 s, ASA 13 s, occupancy 71%" in out


def test_served_within_matches_the_closed_form_for_one_and_two_ahead():
    """Caller at the head (j = 0): served once the next of N agents frees up (rate r0) before
    its own patience (theta) runs out: r0/(r0+theta) (1 - e^-(r0+theta)T). With one ahead, two
    exponential stages a = r1+theta, b = r0+theta in a row (hypoexponential)."""
    theta, t = 1 / 60, 20.0
    stage = np.array([14 / 300, 14 / 300 + theta])  # r_j = N mu + j theta
    r0, r1 = stage
    a, b = r1 + theta, r0 + theta
    head = r0 / b * (1 - math.exp(-b * t))
    one_ahead = (r1 / a) * (r0 / b) * (1 - (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a))
    got = erlang._served_within(stage, theta, t)
    assert got == pytest.approx([head, one_ahead], abs=1e-13)
