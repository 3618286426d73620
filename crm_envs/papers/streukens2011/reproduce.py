"""Streukens et al. (2011), Tables 5 and 6, recomputed beside the published figures.

The rows of ``crm-bench reproduce`` (:mod:`crm_envs.papers.reproduce`) for this paper. Table 3
(path coefficients) and Table 4 (CMV dynamics) are inputs of the model, not outputs, so they
have no row. Table 6's % and ROI columns are its profits relative to $8,894 and to $42,000
(to within 0.6 points), so its 30 profits stand for all 90 numbers.
"""

from __future__ import annotations

import numpy as np

from crm_envs.envs.roi_allocation.presets import TABLE5, TABLE6, get_preset
from crm_envs.envs.roi_allocation.solver import solve_allocation
from crm_envs.papers.reproduce import Check
from crm_envs.papers.streukens2011.sensitivity import table6_fit

__all__ = ["checks"]


def _half_digit(published: float, decimals: int) -> float:
    """Relative tolerance of half a unit of the last printed digit."""
    return 0.5 * 10.0**-decimals / abs(published)


def checks() -> list[Check]:
    """The published figures of the paper, each recomputed by the models."""
    p, src = get_preset("streukens2011"), "Streukens et al. 2011, Table 5"
    best, budgeted = solve_allocation(p), solve_allocation(p, TABLE5["budget"])
    ab = "a = 0 and b = 10 of the ADBUDG curves were identified from this row"
    out = [Check(src, f"effort to maintain y{i + 1}", float(round(e)), float(pub), 0.0, ab)
           for i, (e, pub) in enumerate(zip(p.maintenance_effort, TABLE5["maintenance_effort"],
                                            strict=True))]  # fmt: skip
    arcs = "each driver -> quality arc is set so that the driver's total effect equals this row"
    impacts = zip(p.impacts, TABLE5["impacts"], strict=True)
    out += [Check(src, f"impact of y{i + 1} on retention", float(lam), float(pub),
                  _half_digit(pub, 4), arcs) for i, (lam, pub) in enumerate(impacts)]  # fmt: skip

    def funded(allocation) -> str:
        return ", ".join(f"y{i + 1}" for i in np.flatnonzero(allocation.effort > 1e-6))

    cmv = "the aggregate customer monetary value is fitted to this optimum"
    j4, j5 = 3, 4
    out += [
        Check(src, "optimal total effort ($)", best.total, 42_000.0, 0.01, cmv),
        Check(src, "drivers funded at the optimum", funded(best), "y4, y5"),
        Check(src, "share to delivery (%)", 100 * best.shares[j4], 16.94, 0.01),
        Check(src, "share to product quality (%)", 100 * best.shares[j5], 83.06, 0.01),
        Check(src, "effort to delivery ($)", best.effort[j4], 7_114.0, 0.01),
        Check(src, "effort to product quality ($)", best.effort[j5], 34_886.0, 0.01),
        Check(src, "post-investment level of y4", best.levels_after[j4], 6.67,
              _half_digit(6.67, 2)),
        Check(src, "post-investment level of y5", best.levels_after[j5], 7.19,
              _half_digit(7.19, 2)),
        Check(src, "change in level of y4", best.levels_after[j4] - p.levels0[j4], 0.17,
              _half_digit(0.17, 2)),
        Check(src, "change in level of y5", best.levels_after[j5] - p.levels0[j5], 0.69,
              _half_digit(0.69, 2)),
        Check(src, "investment profit ($)", best.profit, 8_894.0, 0.01),
        Check(src, "ROI (%)", 100 * best.roi, 21.18, 0.01),
        Check(src, "$10k budget: drivers funded", funded(budgeted), "y5"),
        Check(src, "$10k budget: share to product quality (%)", 100 * budgeted.shares[j5],
              100.0, 0.01),
        Check(src, "$10k budget: post-investment level of y5", budgeted.levels_after[j5], 6.73,
              _half_digit(6.73, 2)),
        Check(src, "$10k budget: change in level of y5",
              budgeted.levels_after[j5] - p.levels0[j5], 0.23, _half_digit(0.23, 2)),
        Check(src, "$10k budget: profit ($)", budgeted.profit, 4_480.0, 0.01),
        Check(src, "$10k budget: ROI (%)", 100 * budgeted.roi, 44.80, 0.01),
    ]  # fmt: skip
    fit = table6_fit(p, best, "total_revenue")
    v = (
        f"total-revenue reading; V = ${fit.customer_value:,.0f} per unit of retention fitted "
        "to the 30 profits jointly (the Table 5 value, $3.38M, misses every one)"
    )
    src6 = "Streukens et al. 2011, Table 6"
    for r in fit.rows:
        path = f"{r.arc[0]} → {r.arc[1]}"
        pub = TABLE6[r.arc]
        out += [
            Check(src6, f"profit, {path} −5% ($)", r.profit_minus, float(pub[0]), 0.10, v),
            Check(src6, f"profit, {path} +5% ($)", r.profit_plus, float(pub[3]), 0.10, v),
        ]
    return out
