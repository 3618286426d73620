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
    short_for_losers = bool((rule2.duration[(table < 0).all(-1)] == 1).all())
    long_for_rest = bool((rule2.duration[table.argmax(-1) == 4] == 5).all())
    return [
        Check(src, "E[transactions in the next 5 months] given active all 6",
              float(m.conditional_expected_transactions(5, 6, 6, 6)), 3.10, 0.01),
        Check(src, "E[transactions in the next 5 months] given no repeat",
              float(m.conditional_expected_transactions(5, 0, 0, 6)), 0.03, 0.005),
        Check(src, "share with no repeat purchase (%)", 100 * float(m.pmf(0, 6)), 90.5, 0.5),
        Check(src, "rule 3 plan", f"{k}, {int(rule3.duration[0, 0])} months, all groups",
              "7% loyalty discount, 5 months, all groups"),
        Check(src, "rule 2: 1 month for loss-making groups, 5 for the rest",
              "yes" if short_for_losers and long_for_rest else "no", "yes"),
    ]  # fmt: skip
