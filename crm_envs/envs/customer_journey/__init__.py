"""CustomerJourney: touchpoint journeys as an MDP (Bonaccorso)."""

from crm_envs.envs.customer_journey.env import CustomerJourneyEnv
from crm_envs.envs.customer_journey.model import journey_mdp
from crm_envs.envs.customer_journey.params import CustomerJourneyParams
from crm_envs.envs.customer_journey.presets import PRESETS, get_preset
from crm_envs.envs.customer_journey.vector_env import CustomerJourneyVectorEnv

__all__ = [
    "PRESETS",
    "CustomerJourneyEnv",
    "CustomerJourneyParams",
    "CustomerJourneyVectorEnv",
    "get_preset",
    "journey_mdp",
]
