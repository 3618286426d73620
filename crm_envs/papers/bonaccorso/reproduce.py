"""Bonaccorso: the optimal journeys, recomputed beside the published ones.

The rows of ``crm-bench reproduce`` (:mod:`crm_envs.papers.reproduce`) for this paper.
"""

from __future__ import annotations

import gymnasium as gym

from agents.dp import backward_induction
from crm_envs.envs.customer_journey.model import conversion_probabilities, journey_mdp
from crm_envs.papers.reproduce import Check

__all__ = ["checks"]


def checks() -> list[Check]:
    """The published figures of the paper, each recomputed by the models."""
    env = gym.make("crm_envs/CustomerJourney-v1").unwrapped
    sol, p, src = backward_induction(env.model()), env.params, "Bonaccorso"

    def path(start: tuple[int, int], region: int) -> str:
        cells = p.intended_journey(sol.policy, start, region)
        return " -> ".join(f"{p.layout[r][c]}{(r, c)}" for r, c in cells)

    costs = "the touchpoint costs were chosen so that the optimum takes this journey"
    layout = "the grid was drawn to agree with the cells the text names"
    urban = p.region_names.index("urban")
    q = sol.Q[0, urban]  # cell (0, 0): index 0 * K + region
    second = "yes" if q[1] > q[2] else "no"  # right to (0, 1) vs down to (1, 0)
    horizon = sol.policy.shape[0]
    converts = conversion_probabilities(p, horizon, backward_induction(
        journey_mdp(p, horizon, "any")).policy)  # fmt: skip
    most = conversion_probabilities(p, horizon)
    live = ~p.terminal_cells
    share = float((converts[:, live] >= 0.8 * most[:, live]).mean())
    return [
        Check(src, "optimal journey from (0,0), urban", path((0, 0), urban),
              "F(0, 0) -> P(0, 1) -> C(1, 1) -> W(2, 1) -> P(2, 2) -> S(3, 2)",
              calibrated=costs),
        Check(src, "second journey, via the pause (1,0): a lower-reward alternative", second,
              "yes", calibrated=costs),
        Check(src, "after the conference, rural (our regions extension)",
              path((0, 0), 2).split(" -> ")[3], "F(1, 2)", calibrated=costs),
        Check(src, "end of the journey from (1,13)", path((1, 13), urban).split(" -> ")[-1],
              "S(4, 14)", calibrated=layout),
        Check(src, "end of the journey from (3,11)", path((3, 11), urban).split(" -> ")[-1],
              "S(4, 14)", calibrated=layout),
        Check(src, "share of (region, start) pairs converting with >= 80% of the most slips "
              "allow", share, 1.0, 0.0,
              "rewards are shaped so that only conversion pays (no loop does)"),
    ]  # fmt: skip
