"""The benchmark harness: rows, resumability, crash rows, report, Ray == local."""

import json
import math
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks import harness, registry
from benchmarks.harness import (
    ResultsFileError,
    Run,
    append_result,
    latest_rows,
    load_results,
    plan_runs,
    read_rows,
    run_benchmark,
    run_one,
)
from benchmarks.report import summarise, write_report
from crm_envs.core.oracle import evaluate

JOURNEY = "crm_envs/CustomerJourney-v1"


def test_runs_are_scored_against_random_and_the_optimum(tmp_path):
    runs = [Run(JOURNEY, "random", 0, 0, 50), Run(JOURNEY, "reference", 0, 0, 50),
            Run(JOURNEY, "q_learning", 0, 200_000, 50)]  # fmt: skip
    rows = run_benchmark(runs, tmp_path, progress_bar=False)
    by_agent = {r["agent"]: r for r in rows}
    assert by_agent["reference"]["score"] == pytest.approx(1.0)
    rnd = by_agent["random"]  # other action draws than the baseline's: 0 up to noise
    gap = rnd["reference"] - rnd["random"]
    assert abs(rnd["score"]) < 4 * rnd["stderr"] / gap
    assert by_agent["q_learning"]["score"] > 0.9
    assert all(r["error"] is None for r in rows)
    assert len(by_agent["q_learning"]["curve"]) == 100
    assert by_agent["q_learning"]["curve"][-1] > by_agent["q_learning"]["curve"][0]
    assert by_agent["random"]["curve"] is None
    write_report(tmp_path)
    assert (tmp_path / "curves_CustomerJourney-v1.png").exists()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(x)["agent"] for x in lines] == ["random", "reference", "q_learning"]


def test_rerun_resumes_and_crashes_are_rows(tmp_path, monkeypatch):
    def boom(env, seed, budget):
        raise RuntimeError("agent exploded")

    monkeypatch.setitem(harness.AGENTS, "boom", harness.AgentSpec(boom))
    runs = [Run(JOURNEY, "random", 0, 0, 20), Run(JOURNEY, "boom", 0, 0, 20)]
    first = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [r["error"] is None for r in first] == [True, False]
    assert "agent exploded" in first[1]["error"]
    again = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [r["agent"] for r in again] == ["boom"]  # only the failed run is retried
    assert len(read_rows(tmp_path)) == 3  # every attempt is kept in the file...
    assert len(load_results(tmp_path)) == 2  # ...but one row per run is read
    report = write_report(tmp_path).read_text()
    assert "boom failed: `RuntimeError: agent exploded`" in report
    assert report.count("boom failed") == 1  # the retry replaced the first failure
    assert (tmp_path / "scores_CustomerJourney-v1.png").exists()
    # A later success clears the failure: no failed column, no error line.
    monkeypatch.setitem(harness.AGENTS, "boom", harness.AGENTS["random"])
    third = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [(r["agent"], r["error"]) for r in third] == [("boom", None)]
    boom = next(e for e in summarise(read_rows(tmp_path))[JOURNEY] if e["agent"] == "boom")
    assert (boom["seeds"], boom["failed"], boom["errors"]) == (1, 0, [])
    assert "boom failed" not in write_report(tmp_path).read_text()


def test_plan_runs_filters_and_rejects_unknown_names():
    runs = plan_runs("quick", 3, envs=[JOURNEY], agents=["random"])
    assert [(r.agent, r.seed) for r in runs] == [("random", 0), ("random", 1), ("random", 2)]
    with pytest.raises(ValueError, match="unknown suite"):
        plan_runs("huge", 1)
    with pytest.raises(ValueError, match="unknown agent"):
        plan_runs("quick", 1, agents=["alphazero"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"suite": "quik"}, "unknown suite 'quik'; did you mean 'quick'"),
        ({"envs": ["crm_envs/CustomerJorney-v0"]}, f"did you mean '{JOURNEY}'"),
        ({"envs": ["CustomerJourney-v1"]}, f"did you mean '{JOURNEY}'"),
        ({"agents": ["q_learnin"]}, "unknown agent 'q_learnin'; did you mean 'q_learning'"),
        ({"agents": ["sac"]}, "the 'quick' suite has no agent 'sac'; it has"),
        ({"envs": ["CartPole-v1"]}, "the 'quick' suite has no env id 'CartPole-v1'"),
        (
            {"envs": ["crm_envs/ROIAllocation-v0"], "agents": ["q_learning"]},
            re.escape("no run of agents ['q_learning'] on envs"),
        ),
        ({"seeds": 0}, re.escape("seeds must be in [1, ")),
        ({"eval_episodes": 1}, "eval_episodes must be >= 2"),
    ],
)
def test_plan_runs_never_selects_zero_runs_silently(kwargs, message):
    args = {"suite": "quick", "seeds": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        plan_runs(**args)


def test_run_rejects_bad_fields():
    with pytest.raises(ValueError, match=re.escape("Run.seed must be in [0, 4294967295], got -1")):
        Run(JOURNEY, "random", -1, 0)
    with pytest.raises(TypeError, match=re.escape("Run.budget must be an int, got 1.5")):
        Run(JOURNEY, "random", 0, 1.5)
    with pytest.raises(TypeError, match=re.escape("Run.env_id must be a str")):
        Run(None, "random", 0, 0)


# --------------------------------------------------------------------------- results file
def _row(agent="random", seed=0, budget=0, error=None, score=0.5, **extra):
    return {"env_id": JOURNEY, "agent": agent, "seed": seed, "budget": budget, "error": error,
            "skipped": None, "score": score, "mean": 1.0, "train_seconds": 0.1,
            "env_steps": budget, "curve": None, **extra}  # fmt: skip


def _write_lines(folder, *lines, end="\n"):
    folder.mkdir(exist_ok=True)
    (folder / "results.jsonl").write_text("\n".join(lines) + end, encoding="utf-8")


def test_a_half_written_last_line_is_skipped_with_a_warning(tmp_path):
    good = json.dumps(_row(seed=0))
    _write_lines(tmp_path, good, json.dumps(_row(seed=1))[:37], end="")
    with pytest.warns(RuntimeWarning, match=r"results.jsonl, line 2: skipping a half-written"):
        rows = load_results(tmp_path)
    assert [r["seed"] for r in rows] == [0]
    with pytest.warns(RuntimeWarning, match="half-written"):
        assert "| random |" in write_report(tmp_path).read_text()
    # The next append removes the partial line, so it never ends up in the middle.
    with pytest.warns(RuntimeWarning, match="line 2: removing a half-written last line"):
        append_result(tmp_path, _row(seed=2))
    assert [r["seed"] for r in read_rows(tmp_path)] == [0, 2]
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert lines[0] == good and [json.loads(x)["seed"] for x in lines] == [0, 2]


def test_resume_after_a_crash_mid_write_reruns_the_torn_run(tmp_path):
    runs = [Run(JOURNEY, "random", s, 0, 10) for s in (0, 1)]
    run_benchmark(runs[:1], tmp_path, progress_bar=False)
    with open(tmp_path / "results.jsonl", "a") as fh:
        fh.write(json.dumps(_row(seed=1))[:50])  # the crash
    with pytest.warns(RuntimeWarning, match="half-written"):
        again = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [r["seed"] for r in again] == [1]
    assert [(r["seed"], r["error"]) for r in read_rows(tmp_path)] == [(0, None), (1, None)]


def test_a_corrupt_line_before_the_last_is_an_error_naming_it(tmp_path):
    _write_lines(tmp_path, json.dumps(_row(seed=0)), '{"env_id": "x", oops', json.dumps(_row()))
    with pytest.raises(ResultsFileError, match=r"results.jsonl, line 2 is not a results row"):
        load_results(tmp_path)
    with pytest.raises(ResultsFileError, match="line 2"):
        run_benchmark([Run(JOURNEY, "random", 0, 0, 10)], tmp_path, progress_bar=False)
    _write_lines(tmp_path, "[1, 2]", json.dumps(_row()))  # JSON, but not a row
    with pytest.raises(ResultsFileError, match="line 1 is not a results row"):
        read_rows(tmp_path)


def test_nan_is_written_as_null_and_read_back_as_nan(tmp_path):
    import numpy as np

    row = _row(score=float("nan"), stderr=np.float64("nan"), curve=[1.0, float("inf"), 2.0])
    append_result(tmp_path, row)
    line = (tmp_path / "results.jsonl").read_text()

    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    strict = json.loads(line, parse_constant=reject)
    assert (strict["score"], strict["stderr"], strict["curve"]) == (None, None, [1.0, None, 2.0])
    [entry] = summarise(load_results(tmp_path))[JOURNEY]
    assert entry["seeds"] == 1 and math.isnan(entry["score"])


def test_one_row_per_run_a_success_beats_failures_and_the_newest_success_wins(tmp_path):
    rows = [
        _row(seed=0, error="RuntimeError: first", score=None),
        _row(seed=0, score=0.25),
        _row(seed=0, error="RuntimeError: after the success", score=None),
        _row(seed=0, score=0.75),
        _row(seed=1, error="RuntimeError: a", score=None),
        _row(seed=1, error="RuntimeError: b", score=None),
        _row(seed=2, score=1.0),
        _row(seed=2, score=1.0),  # a duplicate (two writers)
    ]
    latest = latest_rows(rows)
    assert [(r["seed"], r["score"], r["error"]) for r in latest] == [
        (0, 0.75, None), (1, None, "RuntimeError: b"), (2, 1.0, None)
    ]  # fmt: skip
    [entry] = summarise(rows)[JOURNEY]
    assert (entry["seeds"], entry["failed"]) == (2, 1)  # seeds 0 and 2; seed 1 failed
    assert entry["score"] == pytest.approx((0.75 + 1.0) / 2)
    assert entry["errors"] == ["RuntimeError: b"]


def test_env_steps_are_the_steps_taken_and_regret_counts_every_pull():
    pytest.importorskip("stable_baselines3")
    # PPO's rollouts are 256 pulls: a budget of 300 ends after the second, at 512
    row = run_one(Run("crm_envs/PromotionBandit-v2", "ppo", 0, 300, 2))
    assert row["error"] is None
    assert row["env_steps"] == 512 and row["pulls"] == 512
    assert row["steps_per_s"] == pytest.approx(512 / row["train_seconds"])
    q = run_one(Run("crm_envs/PromotionBandit-v2", "q_learning", 0, 300, 2))
    assert q["env_steps"] == 300 and q["pulls"] == 300


def test_a_budget_is_its_own_entry_not_an_extra_seed():
    rows = [_row("dqn", 0, 6_000, score=0.2), _row("dqn", 0, 50_000, score=0.8)]
    entries = summarise(rows)[JOURNEY]
    assert sorted((e["label"], e["seeds"]) for e in entries) == [
        ("dqn (50,000 steps)", 1), ("dqn (6,000 steps)", 1)
    ]  # fmt: skip


def test_an_agent_that_does_not_fit_the_spaces_is_skipped_with_its_reason(tmp_path):
    row = run_one(Run("crm_envs/ROIAllocation-v0", "q_learning", 0, 1000, 10))
    assert row["error"] is None
    assert row["skipped"] == (
        "q_learning needs a Discrete action space; crm_envs/ROIAllocation-v0 has Box"
    )
    assert "score" not in row
    runs = [Run("crm_envs/ROIAllocation-v0", "q_learning", 0, 1000, 10),
            Run("crm_envs/ROIAllocation-v0", "random", 0, 0, 10)]  # fmt: skip
    written = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [harness.row_status(r) for r in written] == ["skipped", "ok"]
    assert run_benchmark(runs, tmp_path, progress_bar=False) == []  # a skip is not redone
    report = write_report(tmp_path).read_text()
    assert "q_learning skipped (1 runs): q_learning needs a Discrete action space" in report
    assert "| q_learning |" not in report  # not a table row with a score
    entries = {e["agent"]: e for e in summarise(read_rows(tmp_path))["crm_envs/ROIAllocation-v0"]}
    assert (entries["q_learning"]["skipped"], entries["q_learning"]["failed"]) == (1, 0)


# --------------------------------------------------------------------------- concurrency
class _Still:
    def predict(self, obs, deterministic=True):
        return 0, None


def _slow_agent(env, seed, budget):
    time.sleep(0.2)
    return _Still()


def _cheap(mp):
    """Patch the harness (via ``mp``, a MonkeyPatch): a slow fake agent, cheap scoring."""
    import numpy as np

    mp.setitem(harness.AGENTS, "slow", harness.AgentSpec(_slow_agent))
    mp.setattr(harness, "_returns", lambda config, policy, n, seed: np.arange(n, 0.0, -1))
    mp.setattr(harness, "baselines", lambda env_id, episodes, seed: (0.0, 10.0))


def _writer(out, runs, go):
    _cheap(pytest.MonkeyPatch())  # in the child process only
    go.wait()
    run_benchmark(runs, out, jobs=1, progress_bar=False)


def test_concurrent_writers_run_each_run_once(tmp_path):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method")
    ctx = multiprocessing.get_context("fork")
    runs = [Run(JOURNEY, "slow", s, 0, 5) for s in range(8)]
    go = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(tmp_path, runs, go)) for _ in range(2)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    rows = read_rows(tmp_path)
    keys = [(r["seed"], r["error"]) for r in rows]
    assert sorted(keys) == [(s, None) for s in range(8)]  # each run once, none twice
    assert json.loads((tmp_path / "claims.json").read_text()) == {}  # all claims released


def test_parallel_workers_claim_and_record_every_run_once(tmp_path):
    runs = [Run(JOURNEY, "random", s, 0, 5) for s in range(3)]
    written = run_benchmark(runs, tmp_path, jobs=2, progress_bar=False)
    assert sorted((r["seed"], r["error"]) for r in written) == [(0, None), (1, None), (2, None)]
    assert sorted(r["seed"] for r in read_rows(tmp_path)) == [0, 1, 2]
    assert json.loads((tmp_path / "claims.json").read_text()) == {}


def test_a_claim_of_a_live_process_is_respected_and_a_dead_ones_taken_over(tmp_path, monkeypatch):
    _cheap(monkeypatch)
    runs = [Run(JOURNEY, "slow", s, 0, 5) for s in (0, 1)]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    host = socket.gethostname()
    claims = {json.dumps(list(runs[0].key)): {"pid": os.getppid(), "host": host},
              json.dumps(list(runs[1].key)): {"pid": int(dead), "host": host}}  # fmt: skip
    (tmp_path / "claims.json").write_text(json.dumps(claims))
    with pytest.warns(RuntimeWarning, match=f"left to the other process.*pid {os.getppid()}"):
        written = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [r["seed"] for r in written] == [1]  # the dead process's run, not the live one's
    assert list(json.loads((tmp_path / "claims.json").read_text())) == [
        json.dumps(list(runs[0].key))
    ]


@pytest.mark.slow
def test_ray_backend_gives_the_local_results(tmp_path):
    pytest.importorskip("ray")
    runs = [Run(JOURNEY, "q_learning", s, 50_000, 30) for s in (0, 1)]
    local = run_benchmark(runs, tmp_path / "local", progress_bar=False)
    remote = run_benchmark(runs, tmp_path / "ray", backend="ray", progress_bar=False)
    key = {(r["seed"]): r["mean"] for r in local}
    assert {(r["seed"]): r["mean"] for r in remote} == key


def test_suite_report_shows_the_episodes_needed_to_separate(tmp_path):
    """4 s.e. at 100 episodes: 2 s.e. needs a quarter of them (the s.e. goes as 1/sqrt(n))."""
    import json

    from benchmarks.report import _suite_lines
    from crm_envs.core.oracle import episodes_to_separate

    assert episodes_to_separate(4.0, 100) == 25
    assert episodes_to_separate(1.0, 100) == 400
    assert episodes_to_separate(0.0, 100) == float("inf")
    suite = {
        "suite": "quick", "min_headroom_se": 5, "kept": ["a"], "left_out": [], "unsupported": [],
        "headroom": {
            "a": {"gap_in_se": 4.0, "episodes": 100, "scoring": "return",
                  "reference_kind": "exact", "best_naive": "myopic"},
            "b": {"gap_in_se": 0.0, "episodes": 200, "scoring": "return",
                  "reference_kind": "heuristic", "best_naive": "constant"},
            "c": {"gap_in_se": None, "episodes": 200, "scoring": "regret",
                  "reference_kind": "exact", "best_naive": "random"},
        },
    }  # fmt: skip
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    rows = {
        line.split(" | ")[0][2:]: line
        for line in _suite_lines(tmp_path)
        if line[:3] in ("| a", "| b", "| c")
    }
    assert "| 100 | 4.0 | 25 | yes |" in rows["a"]
    assert "| 200 | 0.0 | never | **left out** |" in rows["b"]
    assert "| inf | n/a |" in rows["c"]


@pytest.mark.parametrize(
    ("config", "agent"),
    [
        ("crm_envs/CustomerJourney-v1", "maskable_ppo"),
        ("crm_envs/ROIAllocation-v0", "ppo"),
        ("crm_envs/PromotionCampaign-v2", "ppo"),
        ("crm_envs/B2BCustomer-v1[observation=purchase]", "recurrent_ppo"),
    ],
)
def test_a_trained_sb3_model_scores_the_same_played_on_the_vector_env(config, agent):
    """The harness evaluates an SB3 model on the vector env, all episodes in one batch; each
    episode's return must equal the one-by-one evaluation on single envs (masks and LSTM state
    included)."""
    trained = harness.train(agent, registry.make_env(config), seed=0, budget=256, config=config)
    policy = harness.policy_of(agent, trained)
    assert policy.act_batch is not None
    batched = harness._returns(config, policy, 6, 10_000)
    one_by_one = evaluate(lambda: registry.make_env(config), policy, 6, 10_000)
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6)
    assert np.ptp(one_by_one) > 0  # the episodes differ, so a mix-up of copies would show
