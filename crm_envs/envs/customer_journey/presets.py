"""Named CustomerJourney configurations.

Register presets by name so that an ``EnvSpec`` that names one round-trips through JSON.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crm_envs.core.params import lookup_preset
from crm_envs.envs.customer_journey.params import CustomerJourneyParams, reward_table

__all__ = ["BONACCORSO_LAYOUT", "PRESETS", "bonaccorso", "get_preset"]

#: The 5 x 15 journey grid of the ``bonaccorso`` preset (letters: see ``CELL_LETTERS``).
BONACCORSO_LAYOUT = (
    "FPEWEPCEXEPWFEP",
    "PCFEWEPWCPEFPFP",
    "EWPECXEPWEPCEPE",
    "XESWEFCPEPEWPWE",
    "EFCEXWPSPCEFEPS",
)

# Sales-rep feedback rho by (from, to) touchpoint letter on the paper's (-5, 5) scale.
_URBAN = {
    "F": {"F": -3.0, "E": 0.0, "W": 0.5, "C": 0.5, "P": 1.0, "S": 5.0, "X": -5.0},
    "E": {"F": 0.5, "E": -1.0, "W": 0.5, "C": 0.0, "P": 0.5, "S": 5.0, "X": -5.0},
    "W": {"F": 0.0, "E": 0.0, "W": -1.0, "C": 0.5, "P": 1.5, "S": 5.0, "X": -5.0},
    "C": {"F": 1.0, "E": 0.0, "W": 2.0, "C": -2.0, "P": 0.5, "S": 5.0, "X": -5.0},
    "P": {"F": 0.5, "E": 0.5, "W": 0.5, "C": 1.5, "P": -1.0, "S": 5.0, "X": -5.0},
}
# Marketing department: F2F visits and conferences cost money, digital touchpoints are cheap.
_CONSTRAINT = {src: {"F": -1.0, "C": -0.5, "E": 0.5, "W": 0.5} for src in "FEWCP"}


def _with(base: dict[str, dict[str, float]], **changes: float) -> dict[str, dict[str, float]]:
    """Copy of a sparse reward spec with entries ``XY=value`` (from X to Y) changed."""
    out = {src: dict(dsts) for src, dsts in base.items()}
    for key, value in changes.items():
        out[key[0]][key[1]] = value
    return out


def bonaccorso() -> CustomerJourneyParams:
    """The journey grid of Bonaccorso, *Customer journeys as Markov Decision Processes*.

    Sources and decisions:

    * Touchpoint types (F2F call, email/newsletter, webinar invitation, conference invitation,
      pause of 15 days, success, failure), the 10-step journey limit, the (-5, 5) reward scale,
      ``lambda_env = 0.75`` and ``lambda_con = 0.15``: the paper's simulation section.
    * Grid: the paper prints no grid, only cells its text names. This 5 x 15 layout agrees with
      every one of them: start F2F (0,0); pauses (0,1), (1,0), (2,2); conference (1,1); webinar
      (2,1); F2F (1,2); a success (3,2) next to the pause (2,2); success (4,14) reached from
      (1,13) and (3,11) over a shared tail (3,13) -> (4,13) -> (4,14); a boundary success (4,7)
      surrounded by the pauses (3,7), (4,6), (4,8). The other cells are our choice.
    * Rewards: the paper gives no table. We chose rho so that the paper's two optimal journeys
      from (0,0) come out of the optimisation: in the urban region a webinar after the
      conference beats an F2F visit (the paper's argument: a webinar costs less time), in the
      rural region (F2F valued, webinars reach fewer people) the F2F follow-up wins. A second
      F2F right after an F2F is penalised (-3); success +5, failure -5.
    * Constraint rewards M: the marketing department charges F2F visits (-1) and conferences
      (-0.5) and encourages digital touchpoints (+0.5). The paper's example of a cap on the
      number of F2F visits would need the visit count in the state; we keep the state
      (cell, region, t) of the paper and express the department's wish per transition.
    * Regions (the paper's indicator variable): urban (intended move succeeds with
      probability 0.9), suburban (0.8, emails valued more) and rural (0.7, F2F valued more,
      webinars less), equally likely at reset.
    * Invalid moves (off the grid) cost -1 and waste a step.
    """
    suburban = _with(_URBAN, PE=1.0, EP=1.0)
    rural = _with(_URBAN, CF=2.5, CW=0.5, PF=1.0)
    rural_con = _with(_CONSTRAINT, **{f"{s}F": -0.5 for s in "FEWCP"})
    return CustomerJourneyParams(
        layout=BONACCORSO_LAYOUT,
        region_names=("urban", "suburban", "rural"),
        p_intended=(0.9, 0.8, 0.7),
        env_reward=np.stack([reward_table(r) for r in (_URBAN, suburban, rural)]),
        con_reward=np.stack([reward_table(c) for c in (_CONSTRAINT, _CONSTRAINT, rural_con)]),
        invalid_move_reward=-1.0,
        lambda_env=0.75,
        lambda_con=0.15,
        start_cell=(0, 0),
    )


PRESETS: dict[str, Callable[[], CustomerJourneyParams]] = {"bonaccorso": bonaccorso}


def get_preset(name: str) -> CustomerJourneyParams:
    """Return the params of a named preset (an unknown name suggests the closest one)."""
    return lookup_preset("CustomerJourney", name, PRESETS)
