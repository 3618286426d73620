"""Bonaccorso: the optimal journeys, recomputed beside the published ones.

The rows of ``crm-bench reproduce`` (:mod:`crm_envs.papers.reproduce`) for this paper.
"""

from __future__ import annotations

import gymnasium as gym

from agents.dp import backward_induction
from crm_envs.papers.reproduce import Check

__all__ = ["checks"]


def checks() -> list[Check]:
    """The published figures of the paper, each recomputed by the models."""
    env = gym.make("crm_envs/CustomerJourney-v1").unwrapped
    sol, p, src = backward_induction(env.model()), env.params, "Bonaccorso"

    def path(start: tuple[int, int], region: int) -> str:
        cells = p.intended_journey(sol.policy, start, region)
        return " -> ".join(f"{p.layout[r][c]}{(r, c)}" for r, c in cells)

    return [
        Check(src, "optimal journey from (0,0), urban", path((0, 0), 0),
              "F(0, 0) -> P(0, 1) -> C(1, 1) -> W(2, 1) -> P(2, 2) -> S(3, 2)"),
        Check(src, "after the conference, rural", path((0, 0), 2).split(" -> ")[3], "F(1, 2)"),
        Check(src, "end of the journey from (1,13)", path((1, 13), 0).split(" -> ")[-1],
              "S(4, 14)"),
        Check(src, "end of the journey from (3,11)", path((3, 11), 0).split(" -> ")[-1],
              "S(4, 14)"),
    ]  # fmt: skip
