"""``crm-bench``: the command-line entry point of the benchmarks.

Commands:

* ``crm-bench run``: the benchmark harness (suites of agents x envs x seeds, scored against
  the exact optimum, resumable results, a report); ``crm-bench report DIR`` rewrites it.
* ``crm-bench reproduce``: every paper's published numbers recomputed beside the originals.
* ``crm-bench envs``: every registered id with its source paper and a one-line description.
* ``crm-bench random``: a random agent (uniform over the valid actions) on every env, its mean
  return next to the exact optimum from ``model()`` or, without one, the env's reference
  policy.
* ``crm-bench sb3``: train a Stable-Baselines3 agent (PPO, A2C, SAC, TD3, DQN) on an env and
  score it on held-out seeds (random = 0, reference = 1).
* ``crm-bench agents-speed``: numba Q-learning updates/s vs pure Python, and a value-iteration
  sweep vs NumPy's matrix product, measured in the same run.
* ``crm-bench throughput``: ns per env-step and steps/s of every env, single and vectorised,
  next to CartPole measured in the same run (Markdown table).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.registration import ENV_INFO

__all__ = ["REFERENCE_EPISODES", "envs_table", "main", "random_rollout"]

#: Episodes of a reference-policy rollout in ``crm-bench random``.
REFERENCE_EPISODES = 100


def envs_table() -> str:
    """Markdown table of every registered crm_envs id, its paper and description."""
    lines = ["| id | paper | description |", "|---|---|---|"]
    lines += [f"| `{i.env_id}` | {i.paper} | {i.description} |" for i in ENV_INFO]
    return "\n".join(lines)


def _rollout(env, policy, episodes: int, seed: int, desc: str, progress_bar: bool):
    """Mean and standard error of the return of ``policy(obs, info)`` over one vector batch."""
    obs, info = env.reset(seed=seed)
    returns = np.zeros(episodes)
    active = np.ones(episodes, dtype=bool)
    bar = tqdm(desc=desc, disable=not progress_bar, unit="step")
    while active.any():
        obs, rew, term, trunc, info = env.step(policy(obs, info))
        returns += np.where(active, rew, 0.0)
        active &= ~(term | trunc)
        bar.update(1)
    bar.close()
    stderr = returns.std(ddof=1) / np.sqrt(episodes) if episodes > 1 else float("nan")
    return float(returns.mean()), float(stderr)


def random_rollout(env_id: str, episodes: int, seed: int, progress_bar: bool = True) -> dict:
    """Mean return of uniformly random (valid) actions next to the env's reference.

    The reference is the exact optimum when the env has ``model()``, else the mean return of
    its ``reference_action`` policy on the same seeds (at most ``REFERENCE_EPISODES``
    episodes: the reference policies solve an optimisation per step).

    Args:
        env_id: Registered id.
        episodes: Number of episodes (run as one vector batch).
        seed: Seed of the env and the actions.
        progress_bar: Show a tqdm bar over the steps.

    Returns:
        ``{"env_id", "episodes", "mean", "stderr", "reference", "reference_kind"}``.
    """
    from agents.dp import backward_induction, value_iteration

    env = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="vector_entry_point")
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)

    def random_policy(obs, info):
        if "action_mask" not in info:
            return env.action_space.sample()
        mask = info["action_mask"].astype(float)
        probs = mask / mask.sum(axis=1, keepdims=True)
        return (probs.cumsum(axis=1) < rng.random((episodes, 1))).sum(axis=1)

    mean, stderr = _rollout(env, random_policy, episodes, seed, f"random on {env_id}", progress_bar)
    base = env.unwrapped
    reference, kind = None, None
    if hasattr(base, "model"):
        mdp = base.model()
        kind = "exact optimum"
        if mdp.horizon is not None:
            reference = backward_induction(mdp).value(mdp.initial)
        else:
            reference = float(mdp.initial @ value_iteration(mdp).V)
    elif hasattr(base, "reference_action"):
        n_ref = min(episodes, REFERENCE_EPISODES)
        kind = f"reference policy ({n_ref} episodes)"
        ref_env = gym.make_vec(env_id, num_envs=n_ref, vectorization_mode="vector_entry_point")
        reference, _ = _rollout(
            ref_env, lambda obs, info: ref_env.unwrapped.reference_action(obs), n_ref, seed,
            f"reference on {env_id}", progress_bar,
        )  # fmt: skip
    return {
        "env_id": env_id, "episodes": episodes, "mean": mean, "stderr": stderr,
        "reference": reference, "reference_kind": kind,
    }  # fmt: skip


def _cmd_envs(_: argparse.Namespace) -> int:
    print(envs_table())
    return 0


def _cmd_random(args: argparse.Namespace) -> int:
    ids = args.envs or [i.env_id for i in ENV_INFO]
    print("| id | episodes | random mean return | std. error | reference | reference is |")
    print("|---|---:|---:|---:|---:|---|")
    for env_id in ids:
        r = random_rollout(env_id, args.episodes, args.seed, progress_bar=not args.quiet)
        ref = "n/a" if r["reference"] is None else f"{r['reference']:.4f}"
        print(
            f"| `{env_id}` | {r['episodes']} | {r['mean']:.4f} | {r['stderr']:.4f} | {ref} | "
            f"{r['reference_kind'] or 'n/a'} |"
        )
    return 0


def _cmd_throughput(args: argparse.Namespace) -> int:
    from benchmarks.throughput import format_table, run_throughput

    results = run_throughput(
        env_ids=args.envs,
        sizes=args.sizes,
        single_steps=args.single_steps,
        vector_env_steps=args.vector_env_steps,
        repeats=args.repeats,
        progress_bar=not args.quiet,
    )
    table = format_table(results)
    print(table)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(table + "\n")
    return 0


def _cmd_sb3(args: argparse.Namespace) -> int:
    from benchmarks.sb3_runner import train_sb3

    print(
        "| id | algo | seed | steps | mean return | std. error | random | reference | score | s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for env_id in args.envs:
        r = train_sb3(env_id, args.algo, args.timesteps, args.seed, args.eval_episodes,
                      progress_bar=not args.quiet)  # fmt: skip
        print(
            f"| `{r.env_id}` | {r.algo} | {r.seed} | {r.timesteps} | {r.mean:.3f} | "
            f"{r.stderr:.3f} | {r.random_mean:.3f} | {r.reference:.3f} ({r.reference_kind}) | "
            f"{r.score:.2f} | {r.train_seconds:.0f} |"
        )
    return 0


def _cmd_agents_speed(args: argparse.Namespace) -> int:
    from benchmarks.agents_speed import format_speed, q_learning_speed, value_iteration_speed

    results = [q_learning_speed(args.journeys), value_iteration_speed(args.states, args.actions)]
    print(format_speed(results))
    return 0


def _cmd_portfolio(args: argparse.Namespace) -> int:
    from benchmarks.portfolio import format_portfolio_speed, portfolio_speed

    r = portfolio_speed(args.customers, args.sims, args.horizon, plot=args.plot)
    print(format_portfolio_speed(r))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmarks.harness import plan_runs, run_benchmark
    from benchmarks.report import write_report

    runs = plan_runs(args.suite, args.seeds, args.envs, args.agents, args.eval_episodes)
    rows = run_benchmark(runs, args.out, jobs=args.jobs, backend=args.backend,
                         ray_address=args.ray_address, progress_bar=not args.quiet)  # fmt: skip
    failed = [r for r in rows if r.get("error")]
    report = write_report(args.out)
    print(f"{len(rows)} runs done ({len(failed)} failed), {len(runs) - len(rows)} already in "
          f"{args.out}; report: {report}")  # fmt: skip
    print(report.read_text())
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from benchmarks.report import write_report

    print(write_report(args.dir).read_text())
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from benchmarks.reproduce import write_reproduction

    print(write_reproduction(args.out).read_text())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-bench", description="Benchmarks, catalogue and speed of the crm_envs suite."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_envs = sub.add_parser("envs", help="list the registered environments")
    p_envs.set_defaults(func=_cmd_envs)

    p_rand = sub.add_parser("random", help="random-agent rollout on every env")
    p_rand.add_argument("--envs", nargs="+", metavar="ID", help="ids (default: all)")
    p_rand.add_argument("--episodes", type=int, default=1000)
    p_rand.add_argument("--seed", type=int, default=0)
    p_rand.add_argument("--quiet", action="store_true", help="no progress bars")
    p_rand.set_defaults(func=_cmd_random)

    p_run = sub.add_parser("run", help="the benchmark: agents x envs x seeds, scored")
    p_run.add_argument("--suite", default="quick", choices=["quick", "standard"])
    p_run.add_argument("--envs", nargs="+", metavar="ID")
    p_run.add_argument("--agents", nargs="+", metavar="NAME")
    p_run.add_argument("--seeds", type=int, default=2)
    p_run.add_argument("--eval-episodes", type=int, default=200)
    p_run.add_argument("--jobs", type=int, default=2)
    p_run.add_argument("--backend", default="local", choices=["local", "ray"])
    p_run.add_argument("--ray-address", default=None)
    p_run.add_argument("--out", default="results")
    p_run.add_argument("--quiet", action="store_true", help="no progress bars")
    p_run.set_defaults(func=_cmd_run)

    p_rep = sub.add_parser("report", help="Markdown report and plots of a results folder")
    p_rep.add_argument("dir")
    p_rep.set_defaults(func=_cmd_report)

    p_rp = sub.add_parser("reproduce", help="each paper's published numbers, recomputed")
    p_rp.add_argument("--out", default="REPRODUCTION.md")
    p_rp.set_defaults(func=_cmd_reproduce)

    p_sb3 = sub.add_parser("sb3", help="train a Stable-Baselines3 agent and score it")
    p_sb3.add_argument("--envs", nargs="+", metavar="ID", default=["crm_envs/ROIAllocation-v0"])
    p_sb3.add_argument("--algo", default="PPO", choices=["PPO", "A2C", "SAC", "TD3", "DQN"])
    p_sb3.add_argument("--timesteps", type=int, default=30_000)
    p_sb3.add_argument("--seed", type=int, default=0)
    p_sb3.add_argument("--eval-episodes", type=int, default=200)
    p_sb3.add_argument("--quiet", action="store_true", help="no progress bars")
    p_sb3.set_defaults(func=_cmd_sb3)

    p_as = sub.add_parser("agents-speed", help="numba agents vs references, same run")
    p_as.add_argument("--journeys", type=int, default=50_000)
    p_as.add_argument("--states", type=int, default=1000)
    p_as.add_argument("--actions", type=int, default=5)
    p_as.set_defaults(func=_cmd_agents_speed)

    p_pf = sub.add_parser("portfolio", help="B2B customer-base DCV/VOL analysis, timed")
    p_pf.add_argument("--customers", type=int, default=10_000, help="customers (10,000)")
    p_pf.add_argument("--sims", type=int, default=100, help="sequences per policy (100)")
    p_pf.add_argument("--horizon", type=int, default=60, help="months per sequence (60)")
    p_pf.add_argument("--plot", default="", help="save the DCV-VOL map to this PNG")
    p_pf.set_defaults(func=_cmd_portfolio)

    p_tp = sub.add_parser("throughput", help="steps/s vs CartPole, single and vectorised")
    p_tp.add_argument("--envs", nargs="+", metavar="ID", help="ids (default: all)")
    p_tp.add_argument("--sizes", nargs="+", type=int, default=[1, 1024, 65536])
    p_tp.add_argument("--single-steps", type=int, default=20_000)
    p_tp.add_argument("--vector-env-steps", type=int, default=4_000_000)
    p_tp.add_argument("--repeats", type=int, default=5)
    p_tp.add_argument("--out", help="also write the Markdown table to this file")
    p_tp.add_argument("--quiet", action="store_true", help="no progress bars")
    p_tp.set_defaults(func=_cmd_throughput)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``crm-bench`` with ``argv`` (default: the process arguments)."""
    args = _parser().parse_args(argv)
    for name in ("episodes", "single_steps", "vector_env_steps", "repeats", "timesteps",
                 "eval_episodes", "journeys", "states", "actions", "seeds", "jobs"):  # fmt: skip
        if getattr(args, name, 1) is not None and getattr(args, name, 1) < 1:
            _parser().error(f"--{name.replace('_', '-')} must be >= 1")
    if getattr(args, "sizes", None) and min(args.sizes) < 1:
        _parser().error("--sizes must be >= 1")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
