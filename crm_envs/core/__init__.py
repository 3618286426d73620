"""What every crm_envs environment shares: exact models, validation, RNG and vector base."""

from crm_envs.core.models import TabularMDP, TabularPOMDP
from crm_envs.core.params import lookup_preset

__all__ = ["TabularMDP", "TabularPOMDP", "lookup_preset"]
