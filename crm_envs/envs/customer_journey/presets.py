"""Named CustomerJourney configurations.

Register presets by name so that an ``EnvSpec`` that names one round-trips through JSON.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crm_envs.core.params import lookup_preset
from crm_envs.envs.customer_journey.params import (
    CustomerJourneyParams,
    reward_table,
    shaped_reward_table,
)

__all__ = [
    "BONACCORSO_LAYOUT",
    "FAILURE_REWARD",
    "PRESETS",
    "SUCCESS_REWARD",
    "WARMTH",
    "bonaccorso",
    "get_preset",
]

#: The 5 x 15 journey grid of the ``bonaccorso`` preset (letters: see ``CELL_LETTERS``).
BONACCORSO_LAYOUT = (
    "FPEWEPCEXEPWFEP",
    "PCFEWEPWCPEFPFP",
    "EWPECXEPWEPCEPE",
    "XESWEFCPEPEWPWE",
    "EFCEXWPSPCEFEPS",
)

#: How warm a customer is at each touchpoint type (the potential of the sales-rep reward).
WARMTH = {"F": 0.5, "E": 0.25, "W": 0.5, "C": 0.5, "P": 0.25}
#: Cost of each touchpoint to the sales rep in the urban region (time spent).
_URBAN_COST = {"F": -0.3, "E": -0.3, "W": -0.2, "C": -0.2, "P": -0.05}
#: The marketing department's constraint reward M of entering each type: costs only.
_CONSTRAINT_COST = {"F": -1.0, "C": -0.5}
SUCCESS_REWARD = 5.0
FAILURE_REWARD = -4.5


def _constraint_table(cost: dict[str, float]) -> np.ndarray:
    """(7, 7) constraint rewards: ``cost[to]`` from every touchpoint, 0 for the rest."""
    return reward_table({src: dict(cost) for src in "FEWCP"})


def bonaccorso() -> CustomerJourneyParams:
    """The journey grid of Bonaccorso, *Customer journeys as Markov Decision Processes*.

    From the paper:

    * touchpoint types (F2F call, email/newsletter, webinar invitation, conference invitation,
      pause of 15 days, success, failure), the 10-step journey limit, the (-5, 5) scale of the
      sales-rep reward, ``lambda_env = 0.75`` and ``lambda_con = 0.15``, stochastic moves,
      regions selected by an indicator variable;
    * the cells its text names, which the 5 x 15 layout below agrees with: start F2F (0,0);
      pauses (0,1), (1,0), (2,2); conference (1,1); webinar (2,1); F2F (1,2); a success (3,2)
      next to the pause (2,2); success (4,14) reached from (1,13) and (3,11) over a shared
      tail (3,13) -> (4,13) -> (4,14); a boundary success (4,7) surrounded by the pauses
      (3,7), (4,6), (4,8);
    * the claim that from any cell the optimal journey reaches success with the largest
      reward in the fewest steps, the first journey F(0,0) -> P(0,1) -> C(1,1) -> W(2,1) ->
      P(2,2) -> S(3,2) as the optimum and a second one through the pause (1,0) as a
      lower-reward alternative in the same setting.

    Our assumptions (the paper prints no grid and no reward table, only the scale):

    * The other cells of the layout.
    * **Rewards that cannot be farmed** (:func:`shaped_reward_table`): a move earns the change
      in the customer's warmth (``WARMTH``, a potential) plus the cost of the touchpoint
      (``_URBAN_COST``, <= 0); success earns +5 and failure -4.5 (so that every entry stays on
      the paper's scale). The warmth terms telescope along a journey, so a loop of
      touchpoints earns only its costs: the optimal journey converts at the least cost, as
      the paper claims. (An earlier table paid +5 per round of P -> C -> W -> P, and 13 of 68
      urban starts then cycled instead of converting.) The costs were chosen so that the
      paper's first journey is the urban optimum; its second journey, through (1,0), is
      worse by a small Q-value gap (``crm-bench reproduce`` reports it).
    * Constraint rewards M, costs only: the marketing department charges F2F visits (-1) and
      conferences (-0.5); other touchpoints are free. (A cap on the number of F2F visits, the
      paper's example, would need the visit count in the state; the state stays the paper's
      (cell, region, t).)
    * Regions: urban (intended move succeeds with probability 0.9), suburban (0.8, emails
      cost less: -0.1) and rural (0.7, F2F visits cost the rep less, -0.1, and the
      department only -0.5; webinars reach fewer people, -0.4), equally likely at reset.
      Rural journeys follow the conference with the F2F call (1,2), as the paper's second
      figure does.
    * Invalid moves (off the grid) cost -1 and waste a step.
    """
    lam = 0.75
    suburban = dict(_URBAN_COST, E=-0.1)
    rural = dict(_URBAN_COST, F=-0.1, W=-0.4)
    env = [shaped_reward_table(WARMTH, c, lam, SUCCESS_REWARD, FAILURE_REWARD)
           for c in (_URBAN_COST, suburban, rural)]  # fmt: skip
    rural_con = dict(_CONSTRAINT_COST, F=-0.5)
    con = [_constraint_table(c) for c in (_CONSTRAINT_COST, _CONSTRAINT_COST, rural_con)]
    return CustomerJourneyParams(
        layout=BONACCORSO_LAYOUT,
        region_names=("urban", "suburban", "rural"),
        p_intended=(0.9, 0.8, 0.7),
        env_reward=np.stack(env),
        con_reward=np.stack(con),
        invalid_move_reward=-1.0,
        lambda_env=lam,
        lambda_con=0.15,
        start_cell=(0, 0),
    )


PRESETS: dict[str, Callable[[], CustomerJourneyParams]] = {"bonaccorso": bonaccorso}


def get_preset(name: str) -> CustomerJourneyParams:
    """Return the params of a named preset (an unknown name suggests the closest one)."""
    return lookup_preset("CustomerJourney", name, PRESETS)
