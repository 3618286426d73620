"""crm-bench envs / random / throughput."""

import subprocess
import sys

import pytest

from benchmarks.cli import main, random_rollout
from benchmarks.throughput import format_table, run_throughput
from crm_envs.registration import ENV_INFO


def test_envs_lists_every_id_with_its_paper(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for info in ENV_INFO:
        assert f"`{info.env_id}`" in out and info.paper in out


def test_console_script_is_installed():
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "envs"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "CustomerJourney-v1" in res.stdout


def test_random_rollout_is_below_the_optimum():
    r = random_rollout("crm_envs/CustomerJourney-v1", 2000, seed=0, progress_bar=False)
    assert r["episodes"] == 2000 and r["stderr"] > 0
    assert r["reference_kind"].startswith("exact")
    assert r["mean"] + 5 * r["stderr"] < r["reference"]


def test_random_rollout_on_box_actions_uses_the_reference_policy():
    import gymnasium as gym

    r = random_rollout("crm_envs/ROIAllocation-v0", 50, seed=0, progress_bar=False)
    declared = gym.make("crm_envs/ROIAllocation-v0").unwrapped.task.oracle().kind
    assert r["reference_kind"].startswith(declared)
    assert r["mean"] < r["reference"]


def test_throughput_table_has_the_reference_and_ratios():
    results = run_throughput(
        sizes=(1, 64), single_steps=200, vector_env_steps=2000, repeats=1, progress_bar=False
    )
    table = format_table(results)
    rows = [line for line in table.splitlines()[2:]]
    # Single: CartPole + ours; each N: CartPole + ours with copy=True and with copy=False.
    assert len(rows) == (1 + len(ENV_INFO)) + 2 * (1 + 2 * len(ENV_INFO))
    assert sum("CartPole-v1" in r for r in rows) == 3
    assert sum("| vector copy=False | 64 |" in r for r in rows) == len(ENV_INFO)
    assert all(m.ns_per_step > 0 for m in results)
    ours = [r for r in rows if "crm_envs/" in r]
    assert all(r.rstrip(" |").split("|")[-1].strip() not in ("", "n/a") for r in ours)


def test_cli_rejects_bad_sizes():
    with pytest.raises(SystemExit):
        main(["throughput", "--sizes", "0"])


@pytest.mark.slow
def test_ppo_trains_on_roi_allocation_and_beats_random():
    from benchmarks.sb3_runner import train_sb3

    r = train_sb3("crm_envs/ROIAllocation-v0", "PPO", timesteps=30_000, seed=0, eval_episodes=200)
    assert r.reference_kind == "planner"  # the re-planned exact plan (issue 15)
    assert r.mean > r.random_mean + 5 * r.stderr
    # PPO learns something, but 30,000 steps stay far below the planner: the env's headroom.
    assert 0.1 < r.score < 0.9


def test_agents_speed_reports_ratios_against_same_run_references(capsys):
    from benchmarks.agents_speed import q_learning_speed, value_iteration_speed

    q = q_learning_speed(n_journeys=500, repeats=1)
    v = value_iteration_speed(n_states=50, n_actions=3, repeats=1)
    for r in (q, v):
        assert r.ours > 0 and r.reference > 0 and r.ratio == pytest.approx(r.ours / r.reference)
    argv = ["agents-speed", "--journeys", "300", "--states", "40", "--actions", "2",
            "--tabular-steps", "200", "--ppo-copies", "4", "--ppo-steps", "64"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Q-learning updates" in out and "value-iteration sweep" in out
    # One row per id whose spaces the tabular agents take, and only those.
    for env_id in ("CustomerJourney-v1", "PromotionBandit-v2"):
        assert f"Q-learning updates, {env_id}: numba vs Gymnasium loop" in out
    for env_id in ("ROIAllocation-v0", "B2BCustomer-v1", "PromotionCampaign-v2"):
        assert f"updates, {env_id}:" not in out
    assert "PPO training, CustomerJourney-v1, N = 4" in out and "PPO rollouts" in out


def test_td_replay_equals_a_pure_python_q_learning():
    import numpy as np

    from agents.tabular import Q_LEARNING, td_replay

    rng = np.random.default_rng(0)
    n, n_s = 2000, 30
    s, s2 = rng.integers(0, n_s, n), rng.integers(0, n_s, n)
    a, r, done = rng.integers(0, 4, n), rng.normal(size=n), rng.random(n) < 0.1
    q = np.zeros((n_s, 4))
    td_replay(Q_LEARNING, q, q.copy(), np.zeros_like(q), s, a, r, s2, done, 0.9, 0.1, 0.0, 0.0)
    ref = np.zeros((n_s, 4))
    for i in range(n):
        target = r[i] if done[i] else r[i] + 0.9 * ref[s2[i]].max()
        ref[s[i], a[i]] += 0.1 * (target - ref[s[i], a[i]])
    np.testing.assert_allclose(q, ref, atol=1e-12)


def test_portfolio_command_times_a_small_customer_base(tmp_path):
    png = tmp_path / "map.png"
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "portfolio", "--customers", "30", "--sims",
         "5", "--horizon", "12", "--plot", str(png)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "30 customers x 5 sequences x 12 months" in res.stdout and png.stat().st_size > 5_000


# --------------------------------------------------------------------------- bad arguments
@pytest.fixture
def nothing_computes(monkeypatch):
    """Every command's computation fails the test: bad arguments must stop before it."""
    from benchmarks import harness, memory, portfolio, reproduce, sb3_runner, throughput

    def computed(*args, **kwargs):
        raise AssertionError("computation started before the arguments were checked")

    monkeypatch.setattr(harness, "run_benchmark", computed)
    monkeypatch.setattr(portfolio, "portfolio_speed", computed)
    monkeypatch.setattr(reproduce, "write_reproduction", computed)
    monkeypatch.setattr(sb3_runner, "train_sb3", computed)
    monkeypatch.setattr(throughput, "run_throughput", computed)
    monkeypatch.setattr(memory, "run_memory", computed)
    monkeypatch.setattr("benchmarks.cli.random_rollout", computed)


BAD_ARGUMENTS = [
    # (arguments, what the usage error must say)
    ("random --envs nope", "argument --envs: unknown env id 'nope'; known: ["),
    ("random --envs CustomerJourney-v1", "did you mean 'crm_envs/CustomerJourney-v1'?"),
    ("random --seed -1", "argument --seed: must be in [0, 4294967295], got -1"),
    ("random --episodes 1", "argument --episodes: must be >= 2 (a standard error"),
    ("random --episodes many", "argument --episodes: must be an integer, got 'many'"),
    ("run --envs crm_envs/CustomerJorney-v0", "did you mean 'crm_envs/CustomerJourney-v1'?"),
    ("run --agents q_learnin", "argument --agents: unknown agent 'q_learnin'; did you mean "
     "'q_learning'?"),
    ("run --agents sac", "the 'quick' suite has no agent 'sac'; it has ["),
    ("run --envs crm_envs/ROIAllocation-v0 --agents q_learning",
     "the 'quick' suite has no run of agents ['q_learning'] on envs"),
    ("run --suite quik", "argument --suite: unknown suite 'quik'; did you mean 'quick'?"),
    ("run --seeds 0", "argument --seeds: must be in [1, 4294967296], got 0"),
    ("run --seeds -2", "argument --seeds: must be in [1, 4294967296], got -2"),
    ("run --seeds 1.5", "argument --seeds: must be an integer, got '1.5'"),
    ("run --eval-episodes 1", "argument --eval-episodes: must be >= 2"),
    ("run --jobs 0", "argument --jobs: must be >= 1, got 0"),
    ("run --backend rey", "argument --backend: unknown backend 'rey'; did you mean 'ray'?"),
    ("run --ray-address 10.0.0.1:6379", "--ray-address 10.0.0.1:6379 needs --backend ray"),
    ("run --out {file}", "argument --out: {file} is a file; give a folder"),
    ("run --out {file}/sub", "is a file, not a folder"),
    ("report {tmp}/missing", "argument dir: {tmp}/missing does not exist"),
    ("report {file}", "argument dir: {file} is not a folder"),
    ("report {tmp}", "argument dir: no results.jsonl in {tmp}: run `crm-bench run --out"),
    ("reproduce --out {tmp}/missing/R.md", "the folder {tmp}/missing of {tmp}/missing/R.md "
     "does not exist; create it first"),
    ("reproduce --out {tmp}", "argument --out: '{tmp}' is a folder; give a file name"),
    ("sb3 --envs nope", "argument --envs: unknown env id 'nope'"),
    ("sb3 --algo ppo", "argument --algo: unknown algorithm 'ppo'; did you mean 'PPO'?"),
    ("sb3 --algo DQN --envs crm_envs/ROIAllocation-v0", "--algo DQN cannot train on "
     "crm_envs/ROIAllocation-v0: dqn needs a Discrete action space; crm_envs/ROIAllocation-v0 "
     "has Box"),
    ("sb3 --algo SAC --envs crm_envs/CustomerJourney-v1", "sac needs a Box action space"),
    ("sb3 --timesteps 0", "argument --timesteps: must be >= 1, got 0"),
    ("sb3 --seed 4294967296", "argument --seed: must be in [0, 4294967295]"),
    ("sb3 --eval-episodes 1", "argument --eval-episodes: must be >= 2"),
    ("agents-speed --journeys 0", "argument --journeys: must be >= 1, got 0"),
    ("agents-speed --states -1", "argument --states: must be >= 1, got -1"),
    ("agents-speed --actions x", "argument --actions: must be an integer, got 'x'"),
    ("agents-speed --ppo-copies 0", "argument --ppo-copies: must be >= 1, got 0"),
    ("agents-speed --tabular-steps -1", "argument --tabular-steps: must be >= 0, got -1"),
    ("portfolio --customers 0", "argument --customers: must be >= 1, got 0"),
    ("portfolio --customers -5", "argument --customers: must be >= 1, got -5"),
    ("portfolio --sims 1", "argument --sims: must be >= 2, got 1"),
    ("portfolio --horizon 0", "argument --horizon: must be >= 1, got 0"),
    ("portfolio --plot {tmp}/missing/map.png", "the folder {tmp}/missing of "
     "{tmp}/missing/map.png does not exist; create it first"),
    ("portfolio --plot {tmp}/map.xyz", "must end in an image suffix matplotlib writes, e.g. .png"),
    ("portfolio --plot {tmp}/map", "must end in an image suffix matplotlib writes"),
    ("throughput --envs nope", "argument --envs: unknown env id 'nope'"),
    ("throughput --sizes 4 -1", "argument --sizes: must be >= 1, got -1"),
    ("throughput --single-steps 0", "argument --single-steps: must be >= 1, got 0"),
    ("throughput --vector-env-steps 0", "argument --vector-env-steps: must be >= 1, got 0"),
    ("throughput --repeats 0", "argument --repeats: must be >= 1, got 0"),
    ("throughput --out {tmp}/missing/t.md", "the folder {tmp}/missing of {tmp}/missing/t.md"),
    ("memory --envs nope", "argument --envs: unknown env id 'nope'"),
    ("memory --num-envs 0", "argument --num-envs: must be in [1, 16777216], got 0"),
    ("memory --num-envs 16777217", "argument --num-envs: must be in [1, 16777216]"),
    ("memory --steps 1", "argument --steps: must be >= 2, got 1"),
    ("memory --seed -1", "argument --seed: must be in [0, 4294967295], got -1"),
    ("memory --out {tmp}", "argument --out: '{tmp}' is a folder; give a file name"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_usage_errors_before_any_computation(
    argv, message, tmp_path, capsys, nothing_computes
):
    file = tmp_path / "a_file.txt"
    file.write_text("x")
    names = {"tmp": tmp_path, "file": file}
    with pytest.raises(SystemExit) as exit_info:
        main(argv.format(**names).split())
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    command = argv.split()[0]
    assert err.startswith(f"usage: crm-bench {command}"), err
    assert f"crm-bench {command}: error: " in err
    assert message.format(**names) in err.replace("\n", " ")
    assert "Traceback" not in err


def test_a_corrupt_results_file_ends_with_its_message_not_a_traceback(tmp_path, capsys):
    (tmp_path / "results.jsonl").write_text('{"broken\n{"env_id": "x"}\n')
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "crm-bench report: error: " in err and "results.jsonl, line 1" in err


def test_run_reports_skipped_agents_and_a_rerun_runs_nothing(tmp_path, capsys):
    from benchmarks import harness

    # A run of an agent that does not fit its env's spaces is a skipped row with the reason.
    run = harness.Run("crm_envs/CustomerJourney-v1", "sac", 0, 10, 5)
    rows = harness.run_benchmark([run], tmp_path, progress_bar=False)
    assert [harness.row_status(r) for r in rows] == ["skipped"]
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sac skipped (1 runs): sac needs a Box action space; " in out
    assert "| agent | score |" not in out  # no table of scores without a scored run
    assert harness.run_benchmark([run], tmp_path, progress_bar=False) == []
    # Suites derive their pairs from the spaces: the CLI never plans that run.
    argv = ["run", "--suite", "standard", "--envs", "crm_envs/CustomerJourney-v1", "--agents",
            "sac", "--out", str(tmp_path)]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    assert "has no run of agents ['sac'] on envs" in capsys.readouterr().err
