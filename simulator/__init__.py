"""Contact-center simulator: every landing feed of a multi-site, multi-queue center, plus its ground truth."""

from simulator.core import DEFAULT_START, TELEPHONY, SimulationSummary, simulate

__all__ = ["DEFAULT_START", "TELEPHONY", "SimulationSummary", "simulate"]
