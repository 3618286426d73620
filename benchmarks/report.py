"""``crm-bench report``: a Markdown report and PNG plots from a results folder."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.harness import latest_rows, load_results, row_status

__all__ = ["summarise", "write_report"]


def summarise(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per env: one entry per (agent, budget) with the mean score and its 95% CI over seeds.

    Rows are first reduced to one per run (:func:`benchmarks.harness.latest_rows`), so a
    duplicate or a retried run counts once, and a run that failed and then succeeded counts
    as a success. A null (not finite) score counts as NaN.

    Args:
        rows: Results rows, oldest first.

    Returns:
        ``{env_id: [entry, ...]}``, best score first. Each entry has ``agent``, ``label`` (the
        agent, with its budget when the env has it at several budgets), ``seeds`` (finished
        runs), ``failed``, ``skipped``, ``score``, ``ci95``, ``mean_return``,
        ``train_seconds``, ``env_steps``, ``errors`` and ``skip_reasons``.
    """
    groups: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for r in latest_rows(rows):
        groups[(r["env_id"], r["agent"], r["budget"])].append(r)
    budgets: dict[tuple[str, str], int] = defaultdict(int)
    for env_id, agent, _ in groups:
        budgets[(env_id, agent)] += 1
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (env_id, agent, budget), rs in sorted(groups.items()):
        ok = [r for r in rs if row_status(r) == "ok"]
        skipped = [r for r in rs if row_status(r) == "skipped"]
        failed = [r for r in rs if row_status(r) == "failed"]
        scores = np.array([r["score"] for r in ok], dtype=float)  # null -> nan
        n = len(scores)
        half = (stats.t.ppf(0.975, n - 1) * scores.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        label = agent if budgets[(env_id, agent)] == 1 else f"{agent} ({budget:,} steps)"
        out[env_id].append({
            "agent": agent, "label": label, "seeds": n, "failed": len(failed),
            "skipped": len(skipped),
            "score": float(scores.mean()) if n else np.nan, "ci95": float(half),
            "mean_return": float(np.mean([_num(r["mean"]) for r in ok])) if n else np.nan,
            "train_seconds": float(np.mean([r["train_seconds"] for r in ok])) if n else np.nan,
            "env_steps": int(max((r["env_steps"] for r in ok), default=0)),
            "errors": [r["error"].splitlines()[0] for r in failed],
            "skip_reasons": sorted({r["skipped"] for r in skipped}),
        })  # fmt: skip
    for env_id in out:
        out[env_id].sort(key=lambda e: -np.nan_to_num(e["score"], nan=-np.inf))
    return dict(out)


def _num(value: Any) -> float:
    """A JSON number, or NaN for null."""
    return float("nan") if value is None else float(value)


def write_report(out: str | Path) -> Path:
    """Write ``report.md`` and ``scores_<env>.png`` into the results folder ``out``.

    One row per run counts (see :func:`benchmarks.harness.load_results`); skipped agents are
    listed with their reason below each env's table.

    Args:
        out: The results folder.

    Returns:
        The report's path.

    Raises:
        ValueError: ``out`` holds no results.
        benchmarks.harness.ResultsFileError: The results file has a corrupt line.
    """
    out = Path(out)
    rows = load_results(out)
    if not rows:
        raise ValueError(f"no results in {out}: run `crm-bench run --out {out}` first")
    summary = summarise(rows)
    lines = ["# crm_envs benchmark report", "",
             "Score: random actions = 0, reference (exact optimum where the env has one) = 1; "
             "95% confidence intervals over seeds.", ""]  # fmt: skip
    for env_id, entries in summary.items():
        lines += [f"## {env_id}", ""]
        ran = [e for e in entries if e["seeds"] or e["failed"]]
        if ran:
            lines += ["| agent | score | 95% CI | mean return | seeds | train s | env steps | "
                      "failed |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for e in ran:
            ci = "n/a" if np.isnan(e["ci95"]) else f"± {e['ci95']:.3f}"
            lines.append(
                f"| {e['label']} | {e['score']:.3f} | {ci} | {e['mean_return']:.3f} | "
                f"{e['seeds']} | {e['train_seconds']:.1f} | {e['env_steps']:,} | {e['failed']} |"
            )
        for e in entries:
            for err in e["errors"]:
                lines.append(f"\n- {e['label']} failed: `{err}`")
            for reason in e["skip_reasons"]:
                lines.append(f"\n- {e['label']} skipped ({e['skipped']} runs): {reason}")
        png = _plot(env_id, ran, out) if ran else None
        if png is not None:
            lines += ["", f"![scores on {env_id}]({png.name})"]
        curves = _plot_curves(env_id, [r for r in rows if r["env_id"] == env_id], out)
        if curves is not None:
            lines += ["", f"![learning curves on {env_id}]({curves.name})"]
        lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _plot_curves(env_id: str, rows: list[dict[str, Any]], out: Path) -> Path | None:
    """Mean training curve over seeds of every agent that recorded one."""
    by_agent: dict[str, list[list[float]]] = defaultdict(list)
    budgets: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        budgets[r["agent"]].add(r["budget"])
    for r in rows:
        if row_status(r) == "ok" and r.get("curve"):
            several = len(budgets[r["agent"]]) > 1
            label = f"{r['agent']} ({r['budget']:,} steps)" if several else r["agent"]
            by_agent[label].append(r["curve"])
    if not by_agent:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for agent, curves in sorted(by_agent.items()):
        n = min(len(c) for c in curves)
        mean = np.mean(np.array([c[:n] for c in curves], dtype=float), axis=0)  # null: NaN
        ax.plot(np.linspace(0, 1, n), mean, label=agent)
    ax.set_xlabel("training progress (fraction of the budget)")
    ax.set_ylabel("training return (episode, or pull for bandits)")
    ax.set_title(f"Learning curves: {env_id}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / f"curves_{env_id.split('/')[-1]}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _plot(env_id: str, entries: list[dict[str, Any]], out: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots need the `plot` extra; the Markdown report does not
        return None
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(entries) + 1.2))
    names = [e["label"] for e in entries][::-1]
    scores = [e["score"] for e in entries][::-1]
    errs = [0.0 if np.isnan(e["ci95"]) else e["ci95"] for e in entries][::-1]
    ax.barh(names, scores, xerr=errs, color="tab:blue", alpha=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.axvline(1, color="black", lw=0.8, ls="--")
    ax.set_xlabel("normalised score (random = 0, reference = 1)")
    ax.set_title(env_id)
    fig.tight_layout()
    path = out / f"scores_{env_id.split('/')[-1]}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
