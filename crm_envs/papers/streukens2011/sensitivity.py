"""Nominal-range sensitivity of the investment profit to each path (Streukens et al. 2011, 4.6).

Table 6 of the paper: every arc weight of the path model moved by a relative ``-delta`` and
``+delta``, the drivers' impacts recomputed (Eq. 9) and the profit of the fixed optimal
allocation re-evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_envs.core.params import check_scalar
from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.solver import Allocation, evaluate_allocation

__all__ = ["SensitivityRow", "sensitivity_table"]


@dataclass(frozen=True)
class SensitivityRow:
    """One path of the nominal-range sensitivity analysis (Table 6).

    Attributes:
        arc: The perturbed arc (from, to).
        profit_minus: Investment profit with the arc weight lowered by ``delta``.
        change_minus: Percentage change of profit vs the optimum, arc lowered.
        roi_minus: ROI with the arc lowered.
        profit_plus: Investment profit with the arc weight raised by ``delta``.
        change_plus: Percentage change of profit vs the optimum, arc raised.
        roi_plus: ROI with the arc raised.
    """

    arc: tuple[str, str]
    profit_minus: float
    change_minus: float
    roi_minus: float
    profit_plus: float
    change_plus: float
    roi_plus: float


def sensitivity_table(
    params: ROIAllocationParams, allocation: Allocation, delta: float = 0.05
) -> list[SensitivityRow]:
    """Nominal-range sensitivity of the investment profit to each path (section 4.6, Table 6).

    For every arc (k, l) of the path model, the arc weight is moved by ``-delta`` and
    ``+delta`` (relative), the drivers' impacts follow Eq. 9 (``lambda'_i = lambda_i +
    lambda_ik lambda_l,loy * delta * w_kl``) and the profit of the *fixed* allocation is
    recomputed.

    Args:
        params: The model.
        allocation: The allocation to hold fixed (usually
            :func:`~crm_envs.envs.roi_allocation.solver.solve_allocation` of ``params``).
        delta: Relative change of an arc weight, in (0, 1).

    Returns:
        One :class:`SensitivityRow` per arc, in the path model's arc order.
    """
    delta = check_scalar("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    pm = params.path_model
    base = allocation.profit
    rows = []
    for arc, w in pm.arcs.items():
        out = []
        for sign in (-1.0, 1.0):
            lam = pm.sensitivity_update(
                params.driver_names, params.loyalty_node, arc, sign * delta * w
            )
            a = evaluate_allocation(params, allocation.effort, impacts=lam)
            out.append((a.profit, 100.0 * (a.profit - base) / abs(base), a.roi * 100.0))
        rows.append(SensitivityRow(arc, *out[0], *out[1]))
    return rows
