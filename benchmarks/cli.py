"""``crm-bench``: the command-line entry point of the benchmarks.

Commands:

* ``crm-bench run``: the benchmark harness (suites of agents x envs x seeds, scored against
  the exact optimum, resumable results, a report); ``crm-bench report DIR`` rewrites it.
* ``crm-bench reproduce``: every paper's published numbers recomputed beside the originals.
* ``crm-bench envs``: every registered id with its source paper and a one-line description.
* ``crm-bench headroom``: per id, the declared reference against random, the best constant
  action, the naive policy and the full-information oracle (mean +- s.e. on common seeds), the
  gap in standard errors and the episodes needed to separate it at 2 s.e.; ``--plot`` draws it.
* ``crm-bench random``: the declared random baseline (uniform over the action space) on every
  env, its mean return next to the env's declared reference (exact, planner or heuristic).
* ``crm-bench sb3``: train a Stable-Baselines3 agent (PPO, A2C, SAC, TD3, DQN) on an env and
  score it on held-out seeds (random = 0, reference = 1).
* ``crm-bench agents-speed``: numba Q-learning updates/s vs pure Python, per id the tabular
  agents' numba loop vs their Gymnasium loop, a value-iteration sweep vs NumPy's matrix
  product, and PPO on the SB3 adapter vs ``DummyVecEnv``, measured in the same run.
* ``crm-bench throughput``: ns per env-step and steps/s of every env, single and vectorised,
  next to CartPole measured in the same run (Markdown table).
* ``crm-bench memory``: per id and ``copy`` mode, in a fresh process each, the peak RSS of a
  vector env of N copies (default 1,000,000), the bytes it holds and what one step allocates
  beyond the arrays it returns (Markdown table; rows over 2 GB are marked).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import crm_envs  # noqa: F401  (registers the ids)
from benchmarks.harness import AGENTS, SEED_MAX, SUITES, ResultsFileError, closest
from benchmarks.sb3_runner import ALGOS
from crm_envs.core.oracle import evaluate, random_policy
from crm_envs.core.vector import MAX_ENVS
from crm_envs.registration import ENV_INFO

__all__ = ["REFERENCE_EPISODES", "envs_table", "main", "random_rollout"]

#: Episodes of a reference-policy rollout in ``crm-bench random``.
REFERENCE_EPISODES = 100


def envs_table() -> str:
    """Markdown table of every registered crm_envs id, its paper and description."""
    lines = ["| id | paper | description |", "|---|---|---|"]
    lines += [f"| `{i.env_id}` | {i.paper} | {i.description} |" for i in ENV_INFO]
    return "\n".join(lines)


def random_rollout(env_id: str, episodes: int, seed: int, progress_bar: bool = True) -> dict:
    """Mean return of the env's declared random baseline next to its declared reference.

    Random is uniform over the action space (the same baseline as the harness's score 0); the
    reference is ``task.oracle()``'s policy on the same seeds, over at most
    ``REFERENCE_EPISODES`` episodes (planners and heuristics optimise at every step).

    Args:
        env_id: Registered id.
        episodes: Number of random episodes (>= 2).
        seed: Seed of the first episode and of the random actions.
        progress_bar: Show a bar over the two evaluations.

    Returns:
        ``{"env_id", "episodes", "mean", "stderr", "reference", "reference_kind"}``.
    """
    from benchmarks.headroom import reference_policy

    env = gym.make(env_id)
    policy, kind = reference_policy(env)
    n_ref = min(episodes, REFERENCE_EPISODES)
    jobs = [(random_policy(env.action_space, seed), episodes), (policy, n_ref)]
    out = [evaluate(lambda: gym.make(env_id), p, n, seed)
           for p, n in tqdm(jobs, desc=env_id, disable=not progress_bar, leave=False)]  # fmt: skip
    rand, ref = out
    return {
        "env_id": env_id, "episodes": episodes, "mean": float(rand.mean()),
        "stderr": float(rand.std(ddof=1) / np.sqrt(episodes)), "reference": float(ref.mean()),
        "reference_kind": f"{kind} ({n_ref} episodes)",
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
        print(
            f"| `{env_id}` | {r['episodes']} | {r['mean']:.4f} | {r['stderr']:.4f} | "
            f"{r['reference']:.4f} | {r['reference_kind']} |"
        )
    return 0


def _cmd_headroom(args: argparse.Namespace) -> int:
    from benchmarks.headroom import headroom_table, measure, plot_headroom

    ids = args.envs or [i.env_id for i in ENV_INFO]
    results = [measure(env_id, args.episodes, args.seed, progress_bar=not args.quiet)
               for env_id in tqdm(ids, desc="headroom", disable=args.quiet)]  # fmt: skip
    print(headroom_table(results))
    if args.plot:
        print(f"plot: {plot_headroom(results, args.plot)}")
    return 0


def _emit(table: str, out: str | None) -> int:
    """Print a Markdown table and, with ``--out``, also write it to that file."""
    print(table)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(table + "\n")
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
    return _emit(format_table(results), args.out)


def _cmd_memory(args: argparse.Namespace) -> int:
    from benchmarks.memory import format_table, run_memory

    results = run_memory(
        env_ids=args.envs,
        num_envs=args.num_envs,
        steps=args.steps,
        seed=args.seed,
        progress_bar=not args.quiet,
    )
    return _emit(format_table(results), args.out)


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
    from benchmarks.agents_speed import (
        format_speed,
        ppo_speed,
        q_learning_speed,
        tabular_speed,
        value_iteration_speed,
    )

    results = [q_learning_speed(args.journeys), value_iteration_speed(args.states, args.actions)]
    if args.tabular_steps:
        results += tabular_speed(args.tabular_steps)
    for env_id in args.ppo_envs:
        results += ppo_speed(env_id, args.ppo_copies, args.ppo_steps)
    print(format_speed(results))
    return 0


def _cmd_portfolio(args: argparse.Namespace) -> int:
    from benchmarks.portfolio import format_portfolio_speed, portfolio_speed

    r = portfolio_speed(args.customers, args.sims, args.horizon, plot=args.plot)
    print(format_portfolio_speed(r))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmarks.harness import load_results, row_status, run_benchmark, select
    from benchmarks.report import write_report

    # Planned (and checked) while parsing; the configurations without headroom go now.
    runs, left_out = select(args.runs, args.suite, args.out, progress_bar=not args.quiet)
    for entry in left_out:
        print(f"left out {entry['env_id']}: {entry['reason']}")
    if not runs:
        print(f"crm-bench run: nothing to run: every configuration selected was left out "
              f"(details in {Path(args.out) / 'suite.json'})", file=sys.stderr)  # fmt: skip
        return 1
    rows = run_benchmark(runs, args.out, jobs=args.jobs, backend=args.backend,
                         ray_address=args.ray_address, progress_bar=not args.quiet)  # fmt: skip
    status = {_run_key(r): row_status(r) for r in load_results(args.out)}
    mine = {_run_key(r) for r in rows}
    failed = sum(row_status(r) == "failed" for r in rows)
    skipped = sum(row_status(r) == "skipped" for r in rows)
    already = sum(r.key in status and r.key not in mine for r in runs)
    elsewhere = sum(r.key not in status for r in runs)
    report = write_report(args.out)
    print(f"{len(rows)} runs done ({failed} failed, {skipped} skipped: the agent does not fit "
          f"the env), {already} already in {args.out}"
          + (f", {elsewhere} being run by another process" if elsewhere else "")
          + f"; report: {report}")  # fmt: skip
    print(report.read_text())
    return 0


def _run_key(row: dict) -> tuple:
    return (row["env_id"], row["agent"], row["seed"], row["budget"])


def _cmd_report(args: argparse.Namespace) -> int:
    from benchmarks.report import write_report

    print(write_report(args.dir).read_text())
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from benchmarks.reproduce import write_reproduction

    print(write_reproduction(args.out).read_text())
    return 0


# --------------------------------------------------------------------------- argument types
def _int_in(low: int, high: int | None = None, why: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {bound}{why}, got {value}")
        return value

    return parse


_COUNT = _int_in(1)
_SEED = _int_in(0, SEED_MAX)
_EPISODES = _int_in(2, why=" (a standard error needs two episodes)")


def _one_of(options: Sequence[str], what: str) -> Callable[[str], str]:
    """An argparse ``type``: one of ``options``; an unknown name gets the closest ones."""

    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; {closest(text, options)}")
        return text

    return parse


def _env_id(text: str) -> str:
    """An argparse ``type``: a registered crm_envs id."""
    known = [i.env_id for i in ENV_INFO]
    if text not in known:
        raise argparse.ArgumentTypeError(
            f"unknown env id {text!r}; {closest(text, known)} (`crm-bench envs` lists them)"
        )
    return text


def _env_config(text: str) -> str:
    """An argparse ``type``: a registered id, optionally with ``[key=value,...]`` kwargs."""
    from benchmarks.registry import parse_config

    try:
        env_id, _ = parse_config(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    _env_id(env_id)
    return text


def _agent(text: str) -> str:
    """An argparse ``type``: an agent of the harness."""
    if text not in AGENTS:
        raise argparse.ArgumentTypeError(f"unknown agent {text!r}; {closest(text, AGENTS)}")
    return text


def _writable_dir(path: Path) -> Path:
    """The nearest existing folder of ``path``; an error unless it is a writable folder."""
    base = path
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: {base} is a file, not a folder")
    if not os.access(base, os.W_OK):
        raise argparse.ArgumentTypeError(f"{path}: the folder {base} is not writable")
    return base


def _out_dir(text: str) -> str:
    """An argparse ``type``: a results folder to create or reuse (not a file)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder for the results")
    _writable_dir(path)
    return text


def _results_dir(text: str) -> str:
    """An argparse ``type``: a folder holding ``results.jsonl``."""
    from benchmarks.harness import RESULTS

    path = Path(text)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise argparse.ArgumentTypeError(
            f"{text} {what}; give the --out folder of a `crm-bench run`"
        )
    if not (path / RESULTS).is_file():
        raise argparse.ArgumentTypeError(
            f"no {RESULTS} in {text}: run `crm-bench run --out {text}` first"
        )
    return text


def _out_file(text: str) -> str:
    """An argparse ``type``: a file to write, in an existing writable folder."""
    path = Path(text)
    if not text or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder {path.parent} of {text} does not exist; create it first"
        )
    _writable_dir(path.parent)
    return text


def _plot_file(text: str) -> str:
    """An argparse ``type``: "" (no plot) or an image file matplotlib can write."""
    if text == "":
        return text
    from benchmarks.portfolio import check_plot_path

    try:
        check_plot_path(_out_file(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# --------------------------------------------------------------------------- parser
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-bench", description="Benchmarks, catalogue and speed of the crm_envs suite."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_envs = sub.add_parser("envs", help="list the registered environments")
    p_envs.set_defaults(func=_cmd_envs)

    p_rand = sub.add_parser("random", help="random-agent rollout on every env")
    p_rand.add_argument("--envs", nargs="+", metavar="ID", type=_env_id, help="ids (default: all)")
    p_rand.add_argument("--episodes", type=_EPISODES, default=1000, help="per env (1,000)")
    p_rand.add_argument("--seed", type=_SEED, default=0, help="first episode's seed (0)")
    p_rand.add_argument("--quiet", action="store_true", help="no progress bars")
    p_rand.set_defaults(func=_cmd_random)

    p_hr = sub.add_parser("headroom", help="each env's reference vs its naive baselines")
    p_hr.add_argument("--envs", nargs="+", metavar="ID", type=_env_id, help="ids (default: all)")
    p_hr.add_argument("--episodes", type=_EPISODES, default=200, help="per policy (200)")
    p_hr.add_argument("--seed", type=_SEED, default=0, help="first episode's seed (0)")
    p_hr.add_argument("--plot", default="", type=_plot_file, help="also draw the bars here")
    p_hr.add_argument("--quiet", action="store_true", help="no progress bars")
    p_hr.set_defaults(func=_cmd_headroom)

    p_run = sub.add_parser("run", help="the benchmark: agents x envs x seeds, scored")
    p_run.add_argument("--suite", default="quick", type=_one_of(sorted(SUITES), "suite"),
                       metavar="{" + ",".join(sorted(SUITES)) + "}",
                       help="the suite (quick)")  # fmt: skip
    p_run.add_argument("--envs", nargs="+", metavar="ID", type=_env_config,
                       help="env ids or configurations of the suite (default: all)")  # fmt: skip
    p_run.add_argument("--agents", nargs="+", metavar="NAME", type=_agent,
                       help="agents of the suite (default: all)")  # fmt: skip
    p_run.add_argument("--seeds", type=_int_in(1, SEED_MAX + 1), default=None,
                       help="seeds per run (default: the suite's)")  # fmt: skip
    p_run.add_argument("--eval-episodes", type=_EPISODES, default=None,
                       help="evaluation episodes per run (default: the suite's)")  # fmt: skip
    p_run.add_argument("--jobs", type=_COUNT, default=2, help="runs in parallel (2)")
    p_run.add_argument("--backend", default="local", type=_one_of(["local", "ray"], "backend"),
                       metavar="{local,ray}", help="where runs execute (local)")  # fmt: skip
    p_run.add_argument("--ray-address", default=None, help="a Ray cluster (with --backend ray)")
    p_run.add_argument("--out", default="results", type=_out_dir, help="results folder (results)")
    p_run.add_argument("--quiet", action="store_true", help="no progress bars")
    p_run.set_defaults(func=_cmd_run, check=_check_run)

    p_rep = sub.add_parser("report", help="Markdown report and plots of a results folder")
    p_rep.add_argument("dir", type=_results_dir, help="a results folder of crm-bench run")
    p_rep.set_defaults(func=_cmd_report)

    p_rp = sub.add_parser("reproduce", help="each paper's published numbers, recomputed")
    p_rp.add_argument("--out", default="REPRODUCTION.md", type=_out_file,
                      help="Markdown file to (over)write (REPRODUCTION.md)")  # fmt: skip
    p_rp.set_defaults(func=_cmd_reproduce)

    p_sb3 = sub.add_parser("sb3", help="train a Stable-Baselines3 agent and score it")
    p_sb3.add_argument("--envs", nargs="+", metavar="ID", type=_env_id,
                       default=["crm_envs/ROIAllocation-v0"],
                       help="ids (crm_envs/ROIAllocation-v0)")  # fmt: skip
    p_sb3.add_argument("--algo", default="PPO", type=_one_of(ALGOS, "algorithm"),
                       metavar="{" + ",".join(ALGOS) + "}", help="algorithm (PPO)")  # fmt: skip
    p_sb3.add_argument("--timesteps", type=_COUNT, default=30_000, help="training steps (30,000)")
    p_sb3.add_argument("--seed", type=_SEED, default=0, help="training seed (0)")
    p_sb3.add_argument(
        "--eval-episodes", type=_EPISODES, default=200, help="evaluation episodes (200)"
    )
    p_sb3.add_argument("--quiet", action="store_true", help="no progress bars")
    p_sb3.set_defaults(func=_cmd_sb3, check=_check_sb3)

    p_as = sub.add_parser("agents-speed", help="numba agents vs references, same run")
    p_as.add_argument("--journeys", type=_COUNT, default=50_000,
                      help="journeys logged for the update loop (50,000)")  # fmt: skip
    p_as.add_argument(
        "--states", type=_COUNT, default=1000, help="states of the value-iteration MDP (1,000)"
    )
    p_as.add_argument("--actions", type=_COUNT, default=5, help="its actions (5)")
    p_as.add_argument("--tabular-steps", type=_int_in(0), default=200_000,
                      help="Q-learning steps per id for the per-env rows (0: skip)")  # fmt: skip
    p_as.add_argument("--ppo-envs", nargs="*", metavar="ID",
                      default=["crm_envs/CustomerJourney-v1"],
                      help="ids to time SB3's PPO on (none: skip)")  # fmt: skip
    p_as.add_argument("--ppo-copies", type=_COUNT, default=16, help="copies N for PPO (16)")
    p_as.add_argument(
        "--ppo-steps", type=_COUNT, default=8192, help="PPO env steps per repeat (8,192)"
    )
    p_as.set_defaults(func=_cmd_agents_speed)

    p_pf = sub.add_parser("portfolio", help="B2B customer-base DCV/VOL analysis, timed")
    p_pf.add_argument("--customers", type=_COUNT, default=10_000, help="customers (10,000)")
    p_pf.add_argument("--sims", type=_int_in(2), default=100, help="sequences per policy (100)")
    p_pf.add_argument("--horizon", type=_COUNT, default=60, help="months per sequence (60)")
    p_pf.add_argument("--plot", default="", type=_plot_file,
                      help="save the DCV-VOL map to this image (.png)")  # fmt: skip
    p_pf.set_defaults(func=_cmd_portfolio)

    p_tp = sub.add_parser("throughput", help="steps/s vs CartPole, single and vectorised")
    p_tp.add_argument("--envs", nargs="+", metavar="ID", type=_env_id, help="ids (default: all)")
    p_tp.add_argument("--sizes", nargs="+", type=_COUNT, default=[1, 1024, 65536],
                      help="copies N of the vector envs (1 1024 65536)")  # fmt: skip
    p_tp.add_argument("--single-steps", type=_COUNT, default=20_000,
                      help="steps per repeat of a single env (20,000)")  # fmt: skip
    p_tp.add_argument("--vector-env-steps", type=_COUNT, default=4_000_000,
                      help="env steps (N x steps) per vector repeat (4,000,000)")  # fmt: skip
    p_tp.add_argument("--repeats", type=_COUNT, default=5, help="repeats; the best counts (5)")
    p_tp.add_argument("--out", type=_out_file, help="also write the Markdown table to this file")
    p_tp.add_argument("--quiet", action="store_true", help="no progress bars")
    p_tp.set_defaults(func=_cmd_throughput)

    p_mem = sub.add_parser("memory", help="peak RSS and per-step allocation of vector envs")
    p_mem.add_argument("--envs", nargs="+", metavar="ID", type=_env_id, help="ids (default: all)")
    p_mem.add_argument("--num-envs", type=_int_in(1, MAX_ENVS), default=1_000_000,
                       help="copies N (1,000,000)")  # fmt: skip
    p_mem.add_argument("--steps", type=_int_in(2), default=3,
                       help="steps before the traced one (3; at least 2)")  # fmt: skip
    p_mem.add_argument("--seed", type=_SEED, default=0, help="reset seed (0)")
    p_mem.add_argument("--out", type=_out_file, help="also write the Markdown table to this file")
    p_mem.add_argument("--quiet", action="store_true", help="no progress bars")
    p_mem.set_defaults(func=_cmd_memory)
    for p in (p_envs, p_rand, p_run, p_rep, p_rp, p_sb3, p_as, p_pf, p_tp, p_mem):
        p.set_defaults(parser=p)
    return parser


def _check_run(args: argparse.Namespace) -> str | None:
    """Checks of ``crm-bench run`` across arguments; plans the runs into ``args.runs``."""
    from benchmarks.harness import plan_runs

    if args.backend == "ray" and importlib.util.find_spec("ray") is None:
        return "--backend ray needs Ray: pip install 'crm_envs[ray]'"
    if args.ray_address is not None and args.backend != "ray":
        return f"--ray-address {args.ray_address} needs --backend ray (the backend is local)"
    try:
        args.runs = plan_runs(args.suite, args.seeds, args.envs, args.agents, args.eval_episodes)
    except ValueError as exc:
        return f"{exc} (--suite, --envs, --agents)"
    return None


def _check_sb3(args: argparse.Namespace) -> str | None:
    """``crm-bench sb3``: every env must fit the algorithm's spaces."""
    from benchmarks.harness import unsupported

    for env_id in args.envs:
        reason = unsupported(gym.make(env_id), args.algo.lower())
        if reason is not None:
            return f"--algo {args.algo} cannot train on {env_id}: {reason}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``crm-bench`` with ``argv`` (default: the process arguments).

    Bad arguments are usage errors (exit code 2) found before anything is computed; a
    results file that cannot be read ends with its message and exit code 1.
    """
    args = _parser().parse_args(argv)
    check = getattr(args, "check", None)
    message = check(args) if check is not None else None
    if message is not None:
        args.parser.error(message)
    try:
        return int(args.func(args))
    except ResultsFileError as exc:
        print(f"crm-bench {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
