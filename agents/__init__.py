"""Baseline agents and exact solvers (they use only Gymnasium's API and ``crm_envs.core``)."""

from agents.common import evaluate_policy
from agents.dp import TabularPolicy, backward_induction, policy_iteration, value_iteration

__all__ = [
    "TabularPolicy",
    "backward_induction",
    "evaluate_policy",
    "policy_iteration",
    "value_iteration",
]
