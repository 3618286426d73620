"""Streukens et al. (2011), Table 5, recomputed beside the published figures.

The rows of ``crm-bench reproduce`` (:mod:`crm_envs.papers.reproduce`) for this paper.
"""

from __future__ import annotations

from crm_envs.envs.roi_allocation.presets import TABLE5, get_preset
from crm_envs.envs.roi_allocation.solver import solve_allocation
from crm_envs.papers.reproduce import Check

__all__ = ["checks"]


def checks() -> list[Check]:
    """The published figures of the paper, each recomputed by the models."""
    p, src = get_preset("streukens2011"), "Streukens et al. 2011, Table 5"
    best, budgeted = solve_allocation(p), solve_allocation(p, TABLE5["budget"])
    ab = "a = 0 and b = 10 of the ADBUDG curves were identified from this row"
    out = [Check(src, f"effort to maintain y{i + 1}", float(round(e)), float(pub), 0.0, ab)
           for i, (e, pub) in enumerate(zip(p.maintenance_effort, TABLE5["maintenance_effort"],
                                            strict=True))]  # fmt: skip
    cmv = "the aggregate customer monetary value is fitted to this optimum"
    out += [
        Check(src, "optimal total effort ($)", best.total, 42_000.0, 0.01, cmv),
        Check(src, "share to delivery (%)", 100 * best.shares[3], 16.94, 0.01),
        Check(src, "share to product quality (%)", 100 * best.shares[4], 83.06, 0.01),
        Check(src, "investment profit ($)", best.profit, 8_894.0, 0.01),
        Check(src, "ROI (%)", 100 * best.roi, 21.18, 0.01),
        Check(src, "$10k budget: share to product quality (%)", 100 * budgeted.shares[4],
              100.0, 0.01),
        Check(src, "$10k budget: profit ($)", budgeted.profit, 4_480.0, 0.01),
        Check(src, "$10k budget: ROI (%)", 100 * budgeted.roi, 44.80, 0.01),
    ]  # fmt: skip
    return out
