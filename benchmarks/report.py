"""``crm-bench report``: a Markdown report and PNG plots from a results folder."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.harness import load_results

__all__ = ["summarise", "write_report"]


def summarise(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per env: one entry per agent with the mean score and its 95% CI over seeds."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["env_id"], r["agent"])].append(r)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (env_id, agent), rs in sorted(groups.items()):
        ok = [r for r in rs if not r.get("error")]
        scores = np.array([r["score"] for r in ok], dtype=float)
        n = len(scores)
        half = (stats.t.ppf(0.975, n - 1) * scores.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        out[env_id].append({
            "agent": agent, "seeds": n, "failed": len(rs) - n,
            "score": float(scores.mean()) if n else np.nan, "ci95": float(half),
            "mean_return": float(np.mean([r["mean"] for r in ok])) if n else np.nan,
            "train_seconds": float(np.mean([r["train_seconds"] for r in ok])) if n else np.nan,
            "env_steps": int(max((r["env_steps"] for r in ok), default=0)),
            "errors": [r["error"].splitlines()[0] for r in rs if r.get("error")],
        })  # fmt: skip
    for env_id in out:
        out[env_id].sort(key=lambda e: -np.nan_to_num(e["score"], nan=-np.inf))
    return dict(out)


def write_report(out: str | Path) -> Path:
    """Write ``report.md`` and ``scores_<env>.png`` into the results folder ``out``.

    Returns:
        The report's path.
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
        lines += [f"## {env_id}", "", "| agent | score | 95% CI | mean return | seeds | train s | "
                  "env steps | failed |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for e in entries:
            ci = "n/a" if np.isnan(e["ci95"]) else f"± {e['ci95']:.3f}"
            lines.append(
                f"| {e['agent']} | {e['score']:.3f} | {ci} | {e['mean_return']:.3f} | "
                f"{e['seeds']} | {e['train_seconds']:.1f} | {e['env_steps']:,} | {e['failed']} |"
            )
        for e in entries:
            for err in e["errors"]:
                lines.append(f"\n- {e['agent']} failed: `{err}`")
        png = _plot(env_id, entries, out)
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
    for r in rows:
        if not r.get("error") and r.get("curve"):
            by_agent[r["agent"]].append(r["curve"])
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
        mean = np.mean([c[:n] for c in curves], axis=0)
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
    names = [e["agent"] for e in entries][::-1]
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
