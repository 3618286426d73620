"""CustomerJourney: touchpoint journeys as an MDP (Bonaccorso)."""

from crm_envs.envs.customer_journey.env import CustomerJourneyEnv
from crm_envs.envs.customer_journey.fit import JourneyLog, fit_journey_model, simulate_journeys
from crm_envs.envs.customer_journey.model import journey_mdp
from crm_envs.envs.customer_journey.params import CustomerJourneyParams
from crm_envs.envs.customer_journey.presets import PRESETS, get_preset
from crm_envs.envs.customer_journey.render import plot_policy
from crm_envs.envs.customer_journey.vector_env import CustomerJourneyVectorEnv

__all__ = [
    "PRESETS",
    "CustomerJourneyEnv",
    "CustomerJourneyParams",
    "CustomerJourneyVectorEnv",
    "JourneyLog",
    "fit_journey_model",
    "get_preset",
    "journey_mdp",
    "plot_policy",
    "simulate_journeys",
]
