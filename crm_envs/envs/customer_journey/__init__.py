"""CustomerJourney: touchpoint journeys as an MDP (Bonaccorso).

The env, its params, presets, exact model and renderings. The paper's journey simulation, the
fit from logged journeys and the policy figure are in :mod:`crm_envs.papers.bonaccorso`.
"""

from crm_envs.envs.customer_journey.env import CustomerJourneyEnv, CustomerJourneyVectorEnv
from crm_envs.envs.customer_journey.model import journey_mdp
from crm_envs.envs.customer_journey.params import CustomerJourneyParams
from crm_envs.envs.customer_journey.presets import PRESETS, get_preset

__all__ = [
    "PRESETS",
    "CustomerJourneyEnv",
    "CustomerJourneyParams",
    "CustomerJourneyVectorEnv",
    "get_preset",
    "journey_mdp",
]
