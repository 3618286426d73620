"""What every crm_envs environment shares, nothing env-specific.

``task`` (the :class:`~crm_envs.core.task.Task` an env is), ``wrappers`` (its single and
vector env, written once), ``kernels`` (the one kernel ABI and its NEXT_STEP driver),
``oracle`` (references, baselines and headroom), ``models`` (exact tabular MDPs and POMDPs),
``params`` (validation and presets) and ``rng`` (counter-based random streams).
"""

from crm_envs.core.models import TabularMDP, TabularPOMDP
from crm_envs.core.params import lookup_preset

__all__ = ["TabularMDP", "TabularPOMDP", "lookup_preset"]
