"""The benchmark harness: rows, resumability, crash rows, report, Ray == local."""

import json

import pytest

from benchmarks import harness
from benchmarks.harness import Run, load_results, plan_runs, run_benchmark
from benchmarks.report import write_report

JOURNEY = "crm_envs/CustomerJourney-v0"


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
    assert (tmp_path / "curves_CustomerJourney-v0.png").exists()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(x)["agent"] for x in lines] == ["random", "reference", "q_learning"]


def test_rerun_resumes_and_crashes_are_rows(tmp_path, monkeypatch):
    def boom(env, seed, budget):
        raise RuntimeError("agent exploded")

    monkeypatch.setitem(harness.AGENTS, "boom", boom)
    runs = [Run(JOURNEY, "random", 0, 0, 20), Run(JOURNEY, "boom", 0, 0, 20)]
    first = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [r["error"] is None for r in first] == [True, False]
    assert "agent exploded" in first[1]["error"]
    again = run_benchmark(runs, tmp_path, progress_bar=False)
    assert [r["agent"] for r in again] == ["boom"]  # only the failed run is retried
    assert len(load_results(tmp_path)) == 3
    report = write_report(tmp_path).read_text()
    assert "boom failed: `RuntimeError: agent exploded`" in report
    assert (tmp_path / "scores_CustomerJourney-v0.png").exists()


def test_plan_runs_filters_and_rejects_unknown_names():
    runs = plan_runs("quick", 3, envs=[JOURNEY], agents=["random"])
    assert [(r.agent, r.seed) for r in runs] == [("random", 0), ("random", 1), ("random", 2)]
    with pytest.raises(ValueError, match="unknown suite"):
        plan_runs("huge", 1)
    with pytest.raises(ValueError, match="unknown agent"):
        plan_runs("quick", 1, agents=["alphazero"])


@pytest.mark.slow
def test_ray_backend_gives_the_local_results(tmp_path):
    pytest.importorskip("ray")
    runs = [Run(JOURNEY, "q_learning", s, 50_000, 30) for s in (0, 1)]
    local = run_benchmark(runs, tmp_path / "local", progress_bar=False)
    remote = run_benchmark(runs, tmp_path / "ray", backend="ray", progress_bar=False)
    key = {(r["seed"]): r["mean"] for r in local}
    assert {(r["seed"]): r["mean"] for r in remote} == key
