"""Baseline agents and exact solvers (they use only Gymnasium's API and ``model()``)."""

from agents.dp import backward_induction, value_iteration

__all__ = ["backward_induction", "value_iteration"]
