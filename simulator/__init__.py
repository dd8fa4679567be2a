"""Contact-center simulator: every landing feed of a multi-site, multi-queue center, plus its ground truth."""

from simulator.defaults import DEFAULT_START, TELEPHONY

__all__ = ["DEFAULT_START", "TELEPHONY", "SimulationSummary", "simulate"]


def __getattr__(name: str):
    # numpy/pandas/duckdb load only when a simulation is actually run (keeps `callcenter --help` fast)
    if name in ("simulate", "SimulationSummary"):
        from simulator import core

        return getattr(core, name)
    raise AttributeError(name)
