"""``crm-bench report``: a Markdown report and PNG plots from a results folder.

Per env: every agent's normalised score with a 95% t-interval over seeds, beside its raw
evaluation return (and, on a bandit, its cumulative regret). The reference's kind is stated,
and a heuristic reference is flagged, since a learner may beat it. Across envs: rliable's
aggregates (Agarwal et al. 2021): the interquartile mean (IQM) and the optimality gap with
stratified-bootstrap 95% confidence intervals, and performance profiles (PNG).
"""

from __future__ import annotations

import json
import math
import warnings
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.harness import latest_rows, load_results, row_status
from crm_envs.core.oracle import episodes_to_separate

__all__ = ["MIN_RUNS", "aggregate", "summarise", "write_report"]

#: Runs per task below which an aggregate's bootstrap interval is flagged as unreliable.
MIN_RUNS = 5


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
            "return_se": _pooled_se(ok),
            "regret": float(np.mean([_num(r.get("regret")) for r in ok])) if n else np.nan,
            "reference_kind": ok[0].get("reference_kind") if n else None,
            "scoring": ok[0].get("scoring", "return") if n else "return",
            "train_seconds": float(np.mean([r["train_seconds"] for r in ok])) if n else np.nan,
            "env_steps": int(max((r["env_steps"] for r in ok), default=0)),
            "errors": [r["error"].splitlines()[0] for r in failed],
            "skip_reasons": sorted({r["skipped"] for r in skipped}),
        })  # fmt: skip
    for env_id in out:
        out[env_id].sort(key=lambda e: -np.nan_to_num(e["score"], nan=-np.inf))
    return dict(out)


def _pooled_se(rows: list[dict[str, Any]]) -> float:
    """Standard error of the mean evaluation return averaged over the rows' seeds."""
    se = np.array([_num(r.get("stderr")) for r in rows], dtype=float)
    return float(np.sqrt(np.sum(se**2)) / len(se)) if len(se) else np.nan


def _num(value: Any) -> float:
    """A JSON number, or NaN for null."""
    return float("nan") if value is None else float(value)


_KIND_NOTE = {
    "exact": "exact optimum",
    "planner": "planner (optimal up to its approximation)",
    "heuristic": "**heuristic** (no claim to optimality: scores above 1 are possible)",
}


@contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for the block, then restore its state.

    rliable 1.2's ``StratifiedBootstrap.update_indices`` draws the resampled runs from
    ``np.random.choice``, not from the ``random_state`` it is given, so without this the same
    rows gave different intervals on every call. Not thread-safe: two threads bootstrapping at
    once share that generator (``crm-bench`` aggregates in its main process only).
    """
    saved = np.random.get_state()  # noqa: NPY002 - the legacy global generator rliable reads
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator rliable reads
    try:
        yield
    finally:
        np.random.set_state(saved)  # noqa: NPY002 - the legacy global generator rliable reads


def _bootstrap_seed(seed: int, agent: str, what: int) -> int:
    """Seed of one agent's bootstrap ``what`` (0 IQM, 1 gap, 2 profile) from the report's seed.

    It depends on the agent's name, not on which other agents the results hold, so an agent's
    intervals are the same in a folder run with ``--agents`` as in the full one.
    """
    entropy = [seed, zlib.crc32(agent.encode("utf-8")), what]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)


def aggregate(
    rows: list[dict[str, Any]], reps: int = 2000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """The IQM and optimality gap (rliable) per agent across envs, with bootstrap 95% CIs.

    An agent's score matrix has one column per env it finished on and one row per seed that
    finished on all of them (seeds beyond the smallest count are dropped, so the matrix is
    full). Intervals are rliable's stratified bootstrap (percentile method). With fewer than
    :data:`MIN_RUNS` runs per task such an interval undercovers, and the entry says so.

    Args:
        rows: Results rows (reduced to one per run first).
        reps: Bootstrap replications.
        seed: Seed of the bootstraps; each agent's comes from it and the agent's name
            (:func:`_bootstrap_seed`), whichever other agents ``rows`` holds.

    Returns:
        ``{agent: {"tasks", "runs", "iqm", "iqm_ci", "gap", "gap_ci", "scores", "few_runs"}}``
        for every agent with a finite score on at least one env; ``scores`` is the
        (runs, tasks) matrix.

    Raises:
        ImportError: rliable is not installed (``pip install 'crm_envs[bench]'``).
    """
    from rliable import library as rly
    from rliable import metrics

    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in latest_rows(rows):
        if row_status(r) == "ok" and r.get("score") is not None and np.isfinite(r["score"]):
            per[r["agent"]][r["env_id"]].append(float(r["score"]))
    out: dict[str, dict[str, Any]] = {}
    for agent, by_env in sorted(per.items()):
        tasks = sorted(by_env)
        n = min(len(by_env[t]) for t in tasks)
        scores = np.array([[by_env[t][i] for t in tasks] for i in range(n)])
        funcs = {
            "iqm": lambda x: np.array([metrics.aggregate_iqm(x)]),
            "gap": lambda x: np.array([metrics.aggregate_optimality_gap(x, 1.0)]),
        }
        entry: dict[str, Any] = {"tasks": tasks, "runs": n, "scores": scores,
                                 "few_runs": n < MIN_RUNS}  # fmt: skip
        for what, (name, func) in enumerate(funcs.items()):
            boot = _bootstrap_seed(seed, agent, what)
            with warnings.catch_warnings(), _global_numpy_seed(boot):
                # rliable passes arch a random_state it deprecates
                warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
                point, interval = rly.get_interval_estimates(
                    {agent: scores}, func, reps=reps, random_state=np.random.RandomState(boot)
                )
            entry[name] = float(point[agent][0])
            entry[f"{name}_ci"] = (float(interval[agent][0, 0]), float(interval[agent][1, 0]))
        out[agent] = entry
    return out


def _plot_profiles(agg: dict[str, dict[str, Any]], out: Path, seed: int = 0) -> Path | None:
    """Performance profiles (rliable): the fraction of runs scoring above tau, per agent.

    The bands' bootstrap is seeded per agent (:func:`_bootstrap_seed`), so the PNG is the
    same on every call.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from rliable import library as rly
    except ImportError:
        return None
    taus = np.linspace(-0.5, 1.5, 81)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for agent, e in agg.items():
        with warnings.catch_warnings(), _global_numpy_seed(_bootstrap_seed(seed, agent, 2)):
            warnings.filterwarnings("ignore", category=FutureWarning, module="arch")  # as above
            profile, ci = rly.create_performance_profile({agent: e["scores"]}, taus, reps=500)
        (line,) = ax.plot(taus, profile[agent], label=f"{agent} ({len(e['tasks'])} envs)")
        ax.fill_between(taus, ci[agent][0], ci[agent][1], color=line.get_color(), alpha=0.15)
    ax.axvline(0, color="grey", lw=0.8)
    ax.axvline(1, color="black", lw=0.8, ls="--")
    ax.set_xlabel("normalised score tau (random = 0, reference = 1)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_title("Performance profiles (rliable; 95% bootstrap bands)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "profiles.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _aggregate_lines(rows: list[dict[str, Any]], out: Path) -> list[str]:
    try:
        agg = aggregate(rows)
    except ImportError:
        return ["## Aggregates", "", "rliable is not installed (`pip install rliable`), so "
                "there are no aggregates.", ""]  # fmt: skip
    if not agg:
        return []
    lines = [
        "## Aggregates across envs (rliable)",
        "",
        "Interquartile mean and optimality gap (1 - score, clipped at 0, averaged) of each "
        "agent's normalised scores over the envs it ran on, with stratified-bootstrap 95% "
        "intervals. Agents ran on different envs (the spaces decide), so compare agents on "
        "the same envs only. "
        f"Intervals from fewer than {MIN_RUNS} runs per env undercover: they are marked.",
        "",
        "| agent | envs | runs per env | IQM | 95% CI | optimality gap | 95% CI |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for agent, e in sorted(agg.items(), key=lambda kv: -kv[1]["iqm"]):
        flag = " (few runs)" if e["few_runs"] else ""
        lines.append(
            f"| {agent} | {len(e['tasks'])} | {e['runs']}{flag} | {e['iqm']:.3f} | "
            f"[{e['iqm_ci'][0]:.3f}, {e['iqm_ci'][1]:.3f}] | {e['gap']:.3f} | "
            f"[{e['gap_ci'][0]:.3f}, {e['gap_ci'][1]:.3f}] |"
        )
    png = _plot_profiles(agg, out)
    if png is not None:
        lines += ["", f"![performance profiles]({png.name})"]
    return [*lines, ""]


def _suite_lines(out: Path) -> list[str]:
    """What the suite left out (no headroom) and which pairs cannot run, from suite.json."""
    path = out / "suite.json"
    if not path.exists():
        return []
    suite = json.loads(path.read_text(encoding="utf-8"))
    lines = [f"## Suite `{suite['suite']}`", "",
             f"Configurations need {suite['min_headroom_se']:g} standard errors of headroom "
             "(reference over the best naive policy, at the suite's evaluation episodes).", "",
             "| env | scoring | reference | best naive | episodes | headroom (s.e.) | "
             "episodes to separate at 2 s.e. | run |",
             "|---|---|---|---|---:|---:|---:|---|"]  # fmt: skip
    for env_id, h in suite["headroom"].items():
        gap = "inf" if h["gap_in_se"] is None else f"{h['gap_in_se']:.1f}"
        sep = "n/a"  # a bandit's regret needs no evaluation episodes
        if h["scoring"] == "return" and h.get("episodes"):
            n = episodes_to_separate(h["gap_in_se"], h["episodes"])
            sep = "never" if math.isinf(n) else f"{n:,.0f}"
        ran = "yes" if env_id in suite["kept"] else "**left out**"
        lines.append(f"| {env_id} | {h['scoring']} | {h['reference_kind']} | "
                     f"{h['best_naive']} | {h.get('episodes', '?')} | {gap} | {sep} | "
                     f"{ran} |")  # fmt: skip
    for e in suite["left_out"]:
        lines.append(f"\n- left out {e['env_id']}: {e['reason']}")
    if suite["unsupported"]:
        lines += ["", "Pairs not run (ruled out by spaces or by the suite): " + "; ".join(
            f"{u['agent']} on {u['env_id']}" for u in suite["unsupported"]) + "."]  # fmt: skip
    return [*lines, ""]


def write_report(out: str | Path) -> Path:
    """Write ``report.md`` and its PNG plots into the results folder ``out``.

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
             "Score: random actions = 0, the env's reference = 1 (on a bandit: 1 - cumulative "
             "regret over the training run / uniform random's, so random = 0 and always the "
             "best arm = 1); 95% t-intervals over seeds. Raw evaluation returns beside.",
             "", *_suite_lines(out)]  # fmt: skip
    for env_id, entries in summary.items():
        lines += [f"## {env_id}", ""]
        ran = [e for e in entries if e["seeds"] or e["failed"]]
        kind = next((e["reference_kind"] for e in ran if e["reference_kind"]), None)
        by_regret = any(e["scoring"] == "regret" for e in ran)
        if kind is not None:
            scored = "cumulative regret" if by_regret else "evaluation return"
            lines += [f"Reference: {_KIND_NOTE.get(kind, kind)}. Scored by {scored}.", ""]
        if ran:
            extra = " cumulative regret |" if by_regret else ""
            lines += [f"| agent | score | 95% CI | mean return ± s.e. |{extra} seeds | train s | "
                      "env steps | failed |",
                      "|---|---:|---:|---:|" + ("---:|" if by_regret else "")
                      + "---:|---:|---:|---:|"]  # fmt: skip
        for e in ran:
            ci = "n/a" if np.isnan(e["ci95"]) else f"± {e['ci95']:.3f}"
            regret = f" {e['regret']:,.4g} |" if by_regret else ""
            lines.append(
                f"| {e['label']} | {e['score']:.3f} | {ci} | {e['mean_return']:,.4g} ± "
                f"{e['return_se']:.2g} |{regret} {e['seeds']} | {e['train_seconds']:.1f} | "
                f"{e['env_steps']:,} | {e['failed']} |"
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
    lines += _aggregate_lines(rows, out)
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
    path = out / f"curves_{_slug(env_id)}.png"
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
    path = out / f"scores_{_slug(env_id)}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _slug(config: str) -> str:
    """A file-name form of an env configuration (``B2BCustomer-v1_observation-purchase``)."""
    name = config.split("/")[-1]
    for a, b in (("[", "_"), ("]", ""), ("=", "-"), (",", "_")):
        name = name.replace(a, b)
    return name
