"""``crm-bench reproduce``: every paper's published numbers recomputed beside the originals.

Each row: the quantity, the computed value, the published value, their relative difference,
the relative tolerance and the status (reproduced, not reproduced, calibrated, or calibrated
but missed, with what was fitted to make a calibrated row true). The checks are the papers'
own (:mod:`crm_envs.papers.reproduce`): every computed column comes out of the models.
"""

from __future__ import annotations

from pathlib import Path

from crm_envs.papers.reproduce import STATUSES, Check, all_checks

__all__ = ["summary", "write_reproduction"]


def _fmt(x: float | str) -> str:
    if isinstance(x, str):
        return x
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def write_reproduction(
    path: str | Path = "REPRODUCTION.md", checks: list[Check] | None = None
) -> Path:
    """Write the Markdown comparison.

    Args:
        path: Where to write it.
        checks: The checks to print (default: :func:`all_checks`, computed now).

    Returns:
        The path written.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    checks = all_checks() if checks is None else checks
    lines = ["# Published numbers, recomputed", "", summary(checks), "",
             "A row is *reproduced* when the model computes the published value, within the "
             "stated relative tolerance, without any parameter fitted to it; *calibrated* when a "
             "parameter was fitted or chosen to make it true (the last column says which), so "
             "it is no evidence for the model; *calibrated, missed* when that calibration "
             "does not reach its target.", "",
             "| paper | quantity | computed | published | rel. difference | tolerance | status "
             "| calibrated by |",
             "|---|---|---|---|---:|---:|---|---|"]  # fmt: skip
    for c in checks:
        diff = "" if c.rel_diff is None else f"{c.rel_diff:+.3%}"
        tol = "" if c.rel_diff is None else f"{c.rel_tol:.0%}"
        status = c.status if c.status in ("reproduced", "calibrated") else f"**{c.status}**"
        lines.append(f"| {c.paper} | {c.quantity} | {_fmt(c.computed)} | {_fmt(c.published)} | "
                     f"{diff} | {tol} | {status} | {c.calibrated or ''} |")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def summary(checks: list[Check]) -> str:
    """One line with the count of each status (the README quotes it).

    Args:
        checks: The checks.

    Returns:
        E.g. ``"7 reproduced, 4 not reproduced, 31 calibrated (4 more calibrated rows miss
        their target)."``
    """
    n = {s: sum(c.status == s for c in checks) for s in STATUSES}
    return (f"{n['reproduced']} reproduced, {n['not reproduced']} not reproduced, "
            f"{n['calibrated']} calibrated ({n['calibrated, missed']} more calibrated rows "
            "miss their target).")  # fmt: skip
