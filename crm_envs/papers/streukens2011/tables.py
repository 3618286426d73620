"""Markdown comparisons of the model's results with Streukens et al. (2011), Tables 5 and 6.

Table 6's % column carries no sign; we add the sign of the published profit's change from
the $8,894 optimum (every % is that change relative to $8,894, to within 0.6 points).
"""

from __future__ import annotations

from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.presets import TABLE5, TABLE6
from crm_envs.envs.roi_allocation.solver import solve_allocation
from crm_envs.papers.streukens2011.sensitivity import table6_fit

__all__ = ["table5_markdown", "table6_markdown"]


def table5_markdown(params: ROIAllocationParams) -> str:
    """Table 5 recomputed from ``params`` beside the published figures.

    Args:
        params: The model (normally the ``streukens2011`` preset).

    Returns:
        A Markdown table.
    """
    best, budgeted = solve_allocation(params), solve_allocation(params, TABLE5["budget"])
    j4, j5 = 3, 4  # delivery, product-related quality
    rows = [
        ("optimal total effort", f"${best.total:,.0f}", "$42,000"),
        ("share to delivery (y4)", f"{100 * best.shares[j4]:.2f}%", "16.94%"),
        ("share to product quality (y5)", f"{100 * best.shares[j5]:.2f}%", "83.06%"),
        ("investment profit", f"${best.profit:,.0f}", "$8,894"),
        ("ROI", f"{100 * best.roi:.2f}%", "21.18%"),
        ("post-investment y4 / y5", f"{best.levels_after[j4]:.2f} / {best.levels_after[j5]:.2f}",
         "6.67 / 7.19"),
        ("$10,000 budget: share to y5", f"{100 * budgeted.shares[j5]:.2f}%", "100%"),
        ("$10,000 budget: profit", f"${budgeted.profit:,.0f}", "$4,480"),
        ("$10,000 budget: ROI", f"{100 * budgeted.roi:.2f}%", "44.80%"),
        ("$10,000 budget: post-investment y5", f"{budgeted.levels_after[j5]:.2f}", "6.73"),
        ("effort to maintain y1..y7",
         ", ".join(f"{x:,.0f}" for x in params.maintenance_effort),
         ", ".join(f"{x:,}" for x in TABLE5["maintenance_effort"])),
    ]  # fmt: skip
    lines = ["| quantity | computed | Table 5 |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def _money(x: float) -> str:
    return f"{'−' if round(x) < 0 else ''}${abs(x):,.0f}"


def _pct(x: float) -> str:
    r = round(x)
    return "0" if r == 0 else f"{'+' if r > 0 else '−'}{abs(r)}"


def table6_markdown(
    params: ROIAllocationParams, reading: str = "total_revenue", delta: float = 0.05
) -> str:
    """Table 6 recomputed under ``reading``, beside the published profits and percentages.

    Args:
        params: The model.
        reading: ``"total_revenue"`` (our reconstruction of the table, with the customer value
            fitted to its profits) or ``"investment"`` (the model's own investment profit; see
            :mod:`~crm_envs.papers.streukens2011.sensitivity`).
        delta: Relative change of each arc weight.

    Returns:
        A Markdown table (per path: our profit and % change at -delta and +delta, and Table
        6's), followed by a line with R², sign agreement and the profits within ±10%.
    """
    fit = table6_fit(params, solve_allocation(params), reading, delta=delta)
    lines = [
        "| path | −5%: ours | % | Table 6 | % | +5%: ours | % | Table 6 | % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in fit.rows:
        pm, cm, _, pp, cp, _ = TABLE6[r.arc]
        lines.append(
            f"| {r.arc[0]} → {r.arc[1]} | {_money(r.profit_minus)} | {_pct(r.change_minus)} "
            f"| {_money(pm)} | {_pct(cm if pm > 8_894 else -cm)} | {_money(r.profit_plus)} "
            f"| {_pct(r.change_plus)} | {_money(pp)} | {_pct(cp if pp > 8_894 else -cp)} |"
        )
    value = (
        f"V = ${fit.customer_value:,.0f} per unit of retention (fitted)"
        if fit.customer_value is not None
        else f"CMV = ${params.cmv:,.0f} (Table 5)"
    )
    n = fit.published.size
    lines.append("")
    lines.append(
        f"Reading `{reading}`, {value}: R² = {fit.r2:.2f} over the {n} profits, "
        f"{fit.signs_agree} of {n} signs agree, {fit.within} of {n} profits and "
        f"{fit.paths_within} of {n // 2} paths (both profits) within ±{fit.tol:.0%}."
    )
    return "\n".join(lines)
