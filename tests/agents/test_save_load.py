"""save/load of the numpy-state agents (issue 13, Medium 10).

One path rule for both methods (``save("m")`` writes ``m.npz``, ``load("m")`` finds it), and a
ValueError naming the file and what was expected for anything that is not a valid save of the
same agent for the same env. A refused load leaves the agent unchanged.
"""

import pickle
import re

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.bandits import ThompsonSampling
from agents.reinforce import TabularReinforce
from agents.tabular import SARSA, QLearning

ID = "crm_envs/CustomerJourney-v1"


@pytest.fixture(scope="module")
def trained():
    return QLearning(gym.make(ID), seed=0).learn(5_000)


def _fresh():
    return QLearning(gym.make(ID), seed=0)


def _entries(agent, tmp_path):
    """The entries of a genuine save, as a dict to tamper with."""
    file = agent.save(tmp_path / "genuine")
    with np.load(file) as data:
        return {k: data[k] for k in data.files}


def test_save_without_suffix_round_trips_through_load_with_the_same_path(trained, tmp_path):
    written = trained.save(tmp_path / "model")
    assert written == tmp_path / "model.npz" and written.is_file()
    assert not (tmp_path / "model").exists()
    for path in (tmp_path / "model", str(tmp_path / "model"), tmp_path / "model.npz"):
        clone = _fresh().load(path)
        np.testing.assert_array_equal(clone.q, trained.q)
        np.testing.assert_array_equal(clone.counts, trained.counts)
    # A name that already ends in .npz is used as it is.
    assert trained.save(tmp_path / "m.npz") == tmp_path / "m.npz"
    assert not (tmp_path / "m.npz.npz").exists()


def test_reinforce_and_bandit_use_the_same_path_rule(tmp_path):
    r = TabularReinforce(gym.make(ID), seed=1).learn(2_000)
    r.save(tmp_path / "r")
    np.testing.assert_array_equal(TabularReinforce(gym.make(ID), seed=1).load(tmp_path / "r").theta,
                                  r.theta)  # fmt: skip
    env = gym.make("crm_envs/PromotionBandit-v2")
    t = ThompsonSampling(env, sigma=1.5, seed=0).learn(200)
    t.save(str(tmp_path / "t"))
    clone = ThompsonSampling(env, sigma=1.5, seed=0).load(str(tmp_path / "t"))
    np.testing.assert_array_equal(clone.post_mean, t.post_mean)


def test_missing_files_and_bad_path_types(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"neither .*nothing nor .*nothing\.npz"):
        _fresh().load(tmp_path / "nothing")
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got 3"):
        _fresh().load(3)
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got None"):
        _fresh().save(None)


def _write(path, content):
    path.write_bytes(content)
    return path


def _bad_files(tmp_path, trained):
    good = trained.save(tmp_path / "good").read_bytes()
    np.save(tmp_path / "bare.npy", np.zeros(3))
    np.savez(tmp_path / "foreign.npz", weights=np.ones(4))
    np.savez(tmp_path / "objects.npz", __agent__=np.array("QLearning"),
             __config__=np.array("{}"), q=np.array([{}], dtype=object),
             q2=np.zeros(1), counts=np.zeros(1))  # fmt: skip
    header, data = bytearray(good), bytearray(good)
    header[80] ^= 0xFF  # inside the first member's .npy header
    data[5_000] ^= 0xFF  # inside the first member's numbers: a CRC error
    return {
        "empty": _write(tmp_path / "empty.npz", b""),
        "text": _write(tmp_path / "text.npz", b"not a model at all\n" * 5),
        "pickle": _write(tmp_path / "pickle.npz", pickle.dumps({"q": [1, 2]})),
        "truncated": _write(tmp_path / "truncated.npz", good[: len(good) // 2]),
        "bad-header": _write(tmp_path / "header.npz", bytes(header)),
        "bad-crc": _write(tmp_path / "crc.npz", bytes(data)),
        "bare-npy": tmp_path / "bare.npy",
        "foreign": tmp_path / "foreign.npz",
        "objects": tmp_path / "objects.npz",
    }


BAD = "empty text pickle truncated bad-header bad-crc bare-npy foreign objects".split()


@pytest.mark.parametrize("kind", BAD)
def test_corrupt_or_foreign_files_give_a_clear_value_error(kind, trained, tmp_path):
    file = _bad_files(tmp_path, trained)[kind]
    agent = _fresh()
    before = agent.q.copy()
    with pytest.raises(ValueError) as info:
        agent.load(file)
    msg = str(info.value)
    assert str(file) in msg
    assert "QLearning.save() file" in msg
    assert "['__agent__', '__config__', 'q', 'q2', 'counts']" in msg
    assert "allow_pickle" not in msg
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, ValueError)
    np.testing.assert_array_equal(agent.q, before)


def test_another_agents_file_or_config_is_refused(trained, tmp_path):
    SARSA(gym.make(ID), seed=0).save(tmp_path / "sarsa")
    with pytest.raises(ValueError, match="holds a saved 'SARSA' agent, not a QLearning"):
        _fresh().load(tmp_path / "sarsa")
    trained.save(tmp_path / "q")
    with pytest.raises(ValueError, match=r"differs from this agent's .*QLearning\(env, \*\*config"):
        QLearning(gym.make(ID), seed=1).load(tmp_path / "q")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("q", "nan", r"saved q must be finite, found nan at index \(\d+, \d+\)"),
        ("q", "inf", r"saved q must be finite, found inf"),
        ("q", "strings", r"saved q has dtype <U\d+, expected float64"),
        ("q", "ints", r"saved q has dtype int64, expected float64"),
        ("counts", "negative", r"saved counts must lie in \[0.0, inf\]"),
        ("q2", "short", r"saved q2 has shape \(3, 4\), expected \(\d+, 4\)"),
    ],
)
def test_tables_with_nan_strings_or_wrong_shapes_are_refused(name, value, message, trained,
                                                             tmp_path):  # fmt: skip
    data = _entries(trained, tmp_path)
    arr = data[name].copy()
    if value == "nan":
        arr[5, 1] = np.nan
    elif value == "inf":
        arr[0, 0] = np.inf
    elif value == "strings":
        arr = arr.astype(str)
    elif value == "ints":
        arr = arr.astype(np.int64)
    elif value == "negative":
        arr[2, 2] = -1.0
    else:
        arr = arr[:3]
    data[name] = arr
    np.savez(tmp_path / "bad.npz", **data)
    agent = _fresh()
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "bad.npz")) + ".*" + message):
        agent.load(tmp_path / "bad.npz")
    assert np.all(agent.q == 0.0)  # nothing was loaded


def test_a_save_for_another_env_is_refused(trained, tmp_path):
    trained.save(tmp_path / "h10")
    other = QLearning(gym.make(ID, horizon=5), seed=0)
    with pytest.raises(ValueError, match="saved for an env with other spaces"):
        other.load(tmp_path / "h10")


def test_extra_entries_are_refused(trained, tmp_path):
    data = _entries(trained, tmp_path)
    data["notes"] = np.array("hello")
    np.savez(tmp_path / "extra.npz", **data)
    with pytest.raises(ValueError, match=r"unexpected \['notes'\]"):
        _fresh().load(tmp_path / "extra.npz")


def test_thompson_refuses_non_positive_precisions(tmp_path):
    env = gym.make("crm_envs/PromotionBandit-v2")
    agent = ThompsonSampling(env, seed=0)
    agent.save(tmp_path / "t")
    with np.load(tmp_path / "t.npz") as d:
        data = {k: d[k] for k in d.files}
    data["post_prec"][1] = 0.0
    np.savez(tmp_path / "t0.npz", **data)
    with pytest.raises(ValueError, match=r"saved post_prec must be > 0, found 0.0"):
        ThompsonSampling(env, seed=0).load(tmp_path / "t0.npz")


def test_mlp_reinforce_weights_round_trip_and_bad_files_are_refused(tmp_path):
    import torch

    from agents.reinforce import MLPReinforce

    env = gym.make(ID)
    agent = MLPReinforce(env, seed=0, hidden=8)
    assert agent.save(tmp_path / "w.pt") == tmp_path / "w.pt"
    clone = MLPReinforce(env, seed=1, hidden=8).load(tmp_path / "w.pt")
    for k, v in agent.net.state_dict().items():
        assert torch.equal(clone.net.state_dict()[k], v)

    def refused(file, message, hidden=8):
        target = MLPReinforce(env, seed=1, hidden=hidden)
        before = {k: v.clone() for k, v in target.net.state_dict().items()}
        with pytest.raises(ValueError, match=re.escape(str(file)) + ".*" + message):
            target.load(file)
        for k, v in target.net.state_dict().items():
            assert torch.equal(before[k], v)  # unchanged

    refused(_write(tmp_path / "junk.pt", b"junk" * 10), "is not a readable torch file")
    refused(tmp_path / "w.pt", r"saved 0\.weight is \(\(8, \d+\).*expected \(\(16, \d+\)", 16)
    state = agent.net.state_dict()
    state["2.bias"][3] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    refused(tmp_path / "nan.pt", r"saved 2\.bias holds NaN or infinite weights")
    torch.save({"a": torch.zeros(2)}, tmp_path / "foreign.pt")
    refused(tmp_path / "foreign.pt", r"holds \['a'\]; expected an MLPReinforce\.save\(\) file")
    with pytest.raises(FileNotFoundError, match="no saved MLPReinforce weights"):
        agent.load(tmp_path / "missing.pt")
