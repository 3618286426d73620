"""Nominal-range sensitivity of the profit to each path (Streukens et al. 2011, 4.6, Table 6).

Every arc weight of the path model is moved by a relative ``-delta`` and ``+delta``, the
drivers' impacts are recomputed (Eq. 9) and the profit of the *fixed* optimal allocation is
evaluated again. The paper leaves open which profit it reports, so two readings are offered
(:data:`READINGS`):

``"investment"``
    The investment profit of the fixed allocation under the changed impacts: revenue is
    ``cmv * sum_i lambda'_i (y_i - y0_i)`` (Eq. 1a), so only funded drivers matter and a larger
    weight means more profit. This is what the model itself says.

``"total_revenue"``
    Our reconstruction of Table 6. Appendix A says robustness is measured on *total* profit,
    as ``profit(lambda) - profit(lambda')``. Total revenue is ``V * sum_i lambda_i y_i`` with the
    post-investment levels (loyalty = ``sum_i lambda_i y_i``, Eq. 1b, the status quo included),
    so every driver's path matters. The table's profit is then read as the optimal investment
    profit *plus* Appendix A's difference: ``profit' = profit - V * sum_i (lambda'_i -
    lambda_i) y_i``. Under this reading a larger weight *lowers* the reported profit, as in
    every row of Table 6. ``V`` (dollars per unit of retention) is not the Table 5 customer
    value: :func:`fit_customer_value` fits it to the 30 published profits (about $376,000,
    9x below the $3.38M that Table 5's optimum needs; see ``docs/roi_allocation.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from crm_envs.core.params import check_scalar
from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.presets import TABLE6
from crm_envs.envs.roi_allocation.solver import Allocation, evaluate_allocation

__all__ = [
    "READINGS",
    "SensitivityRow",
    "Table6Fit",
    "fit_customer_value",
    "sensitivity_table",
    "table6_fit",
]

READINGS = ("investment", "total_revenue")
"""Readings of Table 6's profit (see the module docstring)."""


@dataclass(frozen=True)
class SensitivityRow:
    """One path of the nominal-range sensitivity analysis (Table 6).

    Attributes:
        arc: The perturbed arc (from, to).
        profit_minus: Profit with the arc weight lowered by ``delta``.
        change_minus: Percentage change of that profit vs the optimum's investment profit.
        roi_minus: That profit over the allocation's total effort, in %.
        profit_plus: Profit with the arc weight raised by ``delta``.
        change_plus: Percentage change of that profit vs the optimum's investment profit.
        roi_plus: That profit over the allocation's total effort, in %.
    """

    arc: tuple[str, str]
    profit_minus: float
    change_minus: float
    roi_minus: float
    profit_plus: float
    change_plus: float
    roi_plus: float


def _check_reading(reading: str) -> str:
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")
    return reading


def _revenue_changes(
    params: ROIAllocationParams, allocation: Allocation, delta: float
) -> dict[tuple[str, str], tuple[float, float]]:
    """Per arc, ``sum_i (lambda'_i - lambda_i) y_i`` at ``-delta`` and ``+delta`` (per unit V)."""
    pm, lam = params.path_model, params.impacts
    out = {}
    for arc, w in pm.arcs.items():
        pair = []
        for sign in (-1.0, 1.0):
            new = pm.sensitivity_update(
                params.driver_names, params.loyalty_node, arc, sign * delta * w
            )
            pair.append(float((new - lam) @ allocation.levels_after))
        out[arc] = (pair[0], pair[1])
    return out


def sensitivity_table(
    params: ROIAllocationParams,
    allocation: Allocation,
    delta: float = 0.05,
    reading: str = "investment",
    customer_value: float | None = None,
) -> list[SensitivityRow]:
    """Nominal-range sensitivity of the profit to each path (section 4.6, Table 6).

    For every arc (k, l) of the path model, the arc weight is moved by ``-delta`` and
    ``+delta`` (relative), the drivers' impacts follow Eq. 9 (``lambda'_i = lambda_i +
    lambda_ik lambda_l,loy * delta * w_kl``) and the profit of the *fixed* allocation is
    recomputed under ``reading`` (see the module docstring).

    Args:
        params: The model.
        allocation: The allocation to hold fixed (usually
            :func:`~crm_envs.envs.roi_allocation.solver.solve_allocation` of ``params``).
        delta: Relative change of an arc weight, in (0, 1).
        reading: ``"investment"`` or ``"total_revenue"`` (:data:`READINGS`).
        customer_value: Dollars per unit of retention for ``"total_revenue"`` (default:
            ``params.cmv``, the Table 5 value; :func:`fit_customer_value` gives the one that
            fits Table 6). Not allowed with ``"investment"``, which uses ``params.cmv``.

    Returns:
        One :class:`SensitivityRow` per arc, in the path model's arc order.
    """
    delta = check_scalar("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    reading = _check_reading(reading)
    base, total = allocation.profit, allocation.total
    rows = []
    if reading == "investment":
        if customer_value is not None:
            raise ValueError(
                "customer_value applies to reading='total_revenue' only; the investment "
                "reading uses params.cmv (change it with params.replace(cmv=...))"
            )
        pm = params.path_model
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
    value = params.cmv if customer_value is None else customer_value
    value = check_scalar("customer_value", value, low=0.0, low_open=True)
    for arc, changes in _revenue_changes(params, allocation, delta).items():
        out = []
        for change in changes:
            profit = base - value * change
            roi = 100.0 * profit / total if total > 0 else float("nan")
            out.append((profit, 100.0 * (profit - base) / abs(base), roi))
        rows.append(SensitivityRow(arc, *out[0], *out[1]))
    return rows


def _published(table: Mapping[tuple[str, str], tuple], arcs) -> np.ndarray:
    return np.array([[table[arc][0], table[arc][3]] for arc in arcs], dtype=float)


def fit_customer_value(
    params: ROIAllocationParams,
    allocation: Allocation,
    delta: float = 0.05,
    table: Mapping[tuple[str, str], tuple] = TABLE6,
) -> float:
    """The customer value V that fits the published profits best under ``"total_revenue"``.

    Least squares over every published profit (2 per arc): the reading predicts
    ``profit' - profit = -V * change`` with ``change`` the per-unit change of total revenue,
    so ``V = -sum(change * gap) / sum(change**2)`` with ``gap`` the published profit minus the
    model's optimal investment profit.

    Args:
        params: The model.
        allocation: The allocation held fixed (the optimum).
        delta: Relative change of an arc weight.
        table: Published rows ``{arc: (profit-, %, ROI-, profit+, %, ROI+)}`` (Table 6).

    Returns:
        V in dollars per unit of retention probability.
    """
    changes = _revenue_changes(params, allocation, delta)
    missing = sorted(set(changes) - set(table))
    if missing:
        raise ValueError(f"table has no row for arcs {missing}")
    arcs = list(changes)
    d = np.array([changes[a] for a in arcs])
    gap = _published(table, arcs) - allocation.profit
    return float(-(d * gap).sum() / (d * d).sum())


@dataclass(frozen=True)
class Table6Fit:
    """How well a reading of Table 6 fits the published profits.

    Attributes:
        reading: The reading (:data:`READINGS`).
        customer_value: V used (None for the investment reading, which uses ``params.cmv``).
        rows: The computed rows.
        published: (n_arcs, 2) published profits at -delta and +delta.
        computed: (n_arcs, 2) computed profits.
        r2: ``1 - SS_res / SS_tot`` of the computed against the published profits.
        signs_agree: Number of profits whose change from the base has the published sign.
        within: Number of profits within ``tol`` (relative) of the published one.
        paths_within: Number of paths with both profits within ``tol``.
        tol: The relative tolerance of ``within``.
    """

    reading: str
    customer_value: float | None
    rows: list[SensitivityRow]
    published: np.ndarray
    computed: np.ndarray
    r2: float
    signs_agree: int
    within: int
    paths_within: int
    tol: float


def table6_fit(
    params: ROIAllocationParams,
    allocation: Allocation,
    reading: str = "total_revenue",
    customer_value: float | None = None,
    delta: float = 0.05,
    tol: float = 0.10,
    table: Mapping[tuple[str, str], tuple] = TABLE6,
) -> Table6Fit:
    """The rows of ``reading`` beside the published profits, with the fit's summary.

    Args:
        params: The model.
        allocation: The allocation held fixed (the optimum).
        reading: ``"investment"`` or ``"total_revenue"``.
        customer_value: V for ``"total_revenue"`` (default: :func:`fit_customer_value`).
        delta: Relative change of an arc weight.
        tol: Relative tolerance for "within".
        table: Published rows (Table 6).

    Returns:
        The :class:`Table6Fit`.
    """
    reading = _check_reading(reading)
    tol = check_scalar("tol", tol, low=0.0, low_open=True)
    if reading == "total_revenue" and customer_value is None:
        customer_value = fit_customer_value(params, allocation, delta, table)
    rows = sensitivity_table(params, allocation, delta, reading, customer_value)
    pub = _published(table, [r.arc for r in rows])
    comp = np.array([[r.profit_minus, r.profit_plus] for r in rows])
    r2 = 1.0 - ((pub - comp) ** 2).sum() / ((pub - pub.mean()) ** 2).sum()
    base = allocation.profit
    signs = int((np.sign(comp - base) == np.sign(pub - base)).sum())
    ok = np.abs(comp / pub - 1.0) <= tol
    return Table6Fit(
        reading, customer_value, rows, pub, comp, float(r2), signs, int(ok.sum()),
        int(ok.all(axis=1).sum()), tol,
    )  # fmt: skip
