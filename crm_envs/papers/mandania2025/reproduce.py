"""Mandania et al. (2025): the CLV facts and the optimal plans, recomputed.

The rows of ``crm-bench reproduce`` (:mod:`crm_envs.papers.reproduce`) for this paper.
"""

from __future__ import annotations

from crm_envs.envs.promotion.plan import plan
from crm_envs.envs.promotion.presets import get_preset
from crm_envs.papers.reproduce import Check

__all__ = ["checks"]


def checks() -> list[Check]:
    """The published figures of the paper, each recomputed by the models."""
    p, src = get_preset("mandania2025_ferry"), "Mandania et al. 2025"
    m, model = p.model, p.build()
    u = model.uplift()
    rule3 = plan(u, rule=3)
    k = p.promotion_names[int(rule3.promotion[0, 0])]
    rule2 = plan(u, rule=2)
    table = u[:, :, int(rule2.promotion[0, 0]), :]
    losers = (table < 0).all(-1)
    durations = rule2.duration
    paper_rule2 = bool((durations[losers] == 1).all() and (durations[~losers] == 5).all())
    bgbb = "the BG/BB parameters are fitted to 3.10, 0.03 and 90.5%"
    appeal = "the promotions' appeal is chosen so that this is rule 3's optimum"
    return [
        Check(src, "E[transactions in the next 5 months] given active all 6",
              float(m.conditional_expected_transactions(5, 6, 6, 6)), 3.10, 0.01, bgbb),
        Check(src, "E[transactions in the next 5 months] given no repeat",
              float(m.conditional_expected_transactions(5, 0, 0, 6)), 0.03, 0.01, bgbb),
        Check(src, "share with no repeat purchase (%)", 100 * float(m.pmf(0, 6)), 90.5, 0.01,
              bgbb),
        Check(src, "rule 3 plan", f"{k}, {int(rule3.duration[0, 0])} months, all groups",
              "7% loyalty discount, 5 months, all groups", calibrated=appeal),
        Check(src, "rule 2: 1 month for every loss-making group, 5 for every other",
              "yes" if paper_rule2 else
              f"no: {int((durations == 1).sum())} x 1, "
              f"{int(((durations > 1) & (durations < 5)).sum())} x 2-4, "
              f"{int((durations == 5).sum())} x 5 months", "yes"),
    ]  # fmt: skip
