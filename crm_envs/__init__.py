"""crm_envs: reinforcement-learning environments for marketing and CRM.

Importing the package registers every environment id (``crm_envs/<Name>-v<N>``) with
Gymnasium::

    import gymnasium as gym
    import crm_envs  # noqa: F401

    env = gym.make("crm_envs/CustomerJourney-v1")
"""

from crm_envs.core.models import TabularMDP, TabularPOMDP
from crm_envs.registration import ENV_INFO, register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["ENV_INFO", "TabularMDP", "TabularPOMDP", "__version__", "register_envs"]
