"""``crm-bench reproduce``: every paper's published numbers recomputed beside the originals.

Each row: the quantity, the computed value, the published value, their difference, the
tolerance and pass/fail. The checks are the papers' own (:mod:`crm_envs.papers.reproduce`):
every computed column comes out of the models.
"""

from __future__ import annotations

from pathlib import Path

from crm_envs.papers.reproduce import Check, all_checks

__all__ = ["write_reproduction"]


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
    n_pass = sum(c.passed for c in checks)
    lines = ["# Published numbers, recomputed", "",
             f"{n_pass} of {len(checks)} figures match within their tolerance "
             "(`crm-bench reproduce`).", "",
             "| paper | quantity | computed | published | difference | tolerance | match |",
             "|---|---|---|---|---:|---:|---|"]  # fmt: skip
    for c in checks:
        diff = "" if isinstance(c.computed, str) else f"{c.computed - c.published:+.4g}"
        tol = "" if c.tolerance is None else f"{c.tolerance:g}"
        lines.append(f"| {c.paper} | {c.quantity} | {_fmt(c.computed)} | {_fmt(c.published)} | "
                     f"{diff} | {tol} | {'yes' if c.passed else '**no**'} |")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
