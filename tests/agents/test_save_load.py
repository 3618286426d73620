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


@pytest.fixture(scope="module")
def mlp():
    """A trained MLPReinforce (a few Adam steps: weights and moments away from their start)."""
    from agents.reinforce import MLPReinforce

    return MLPReinforce(gym.make(ID), seed=0, hidden=8, batch_episodes=4).learn(400)


def _fresh_mlp(**config):
    from agents.reinforce import MLPReinforce

    return MLPReinforce(gym.make(ID), **{"seed": 0, "hidden": 8, "batch_episodes": 4, **config})


def _logits(agent, observations):
    import torch

    with torch.no_grad():
        return agent.net(torch.from_numpy(np.stack([agent.encode(o) for o in observations])))


def test_mlp_reinforce_saves_like_every_agent_and_predicts_identically_after_load(mlp, tmp_path):
    import torch

    space = gym.make(ID).observation_space
    space.seed(5)
    observations = [space.sample() for _ in range(200)]
    fresh = _fresh_mlp()
    assert not torch.equal(_logits(fresh, observations), _logits(mlp, observations))

    written = mlp.save(tmp_path / "mlp")
    assert written == tmp_path / "mlp.npz" and not (tmp_path / "mlp").exists()
    with np.load(written) as data:
        assert str(data["__agent__"]) == "MLPReinforce"
        assert '"hidden": 8' in str(data["__config__"])
        assert data["net.0.weight"].dtype == np.float32
        assert not any(data[k].dtype == object for k in data.files)
    clone = fresh.load(tmp_path / "mlp")
    assert clone is fresh
    assert torch.equal(_logits(clone, observations), _logits(mlp, observations))  # bit for bit
    assert [clone.predict(o)[0] for o in observations] == [mlp.predict(o)[0] for o in observations]
    assert mlp.save(tmp_path / "m.npz") == tmp_path / "m.npz"


def test_mlp_reinforce_load_restores_adam_so_training_continues_the_same(tmp_path):
    import torch

    a = _fresh_mlp().learn(400)
    a.save(tmp_path / "a")
    b = _fresh_mlp().load(tmp_path / "a")
    # The generator of the action draws and the step count are not saved: align them.
    b.gen.set_state(a.gen.get_state())
    b.num_timesteps = a.num_timesteps
    a.learn(400)
    b.learn(400)
    for k, v in a.net.state_dict().items():
        assert torch.equal(b.net.state_dict()[k], v)
    # A fresh agent's zero moments load as a fresh Adam: the first update is the same.
    _fresh_mlp().save(tmp_path / "new")
    c, d = _fresh_mlp().load(tmp_path / "new").learn(200), _fresh_mlp().learn(200)
    for k, v in c.net.state_dict().items():
        assert torch.equal(d.net.state_dict()[k], v)


def _mlp_refused(file, message, **config):
    import torch

    target = _fresh_mlp(**config)
    before = {k: v.clone() for k, v in target.net.state_dict().items()}
    with pytest.raises(ValueError, match=re.escape(str(file)) + ".*" + message):
        target.load(file)
    for k, v in target.net.state_dict().items():
        assert torch.equal(before[k], v)  # unchanged
    assert target.opt.state_dict()["state"] == {}


@pytest.mark.parametrize(
    ("entry", "value", "message"),
    [
        ("net.2.bias", "nan", r"saved net\.2\.bias must be finite, found nan"),
        ("net.0.weight", "float64", r"saved net\.0\.weight has dtype float64, expected float32"),
        ("net.4.weight", "short", r"net\.4\.weight has shape \(\d+, 7\), expected \(\d+, 8\)"),
        ("adam.0.bias.exp_avg_sq", "negative", r"saved adam\.0\.bias\.exp_avg_sq must be >= 0"),
        ("adam.4.weight.step", "fraction", r"saved adam\.4\.weight\.step must be a whole number"),
    ],
)
def test_mlp_reinforce_refuses_tampered_arrays(entry, value, message, mlp, tmp_path):
    data = _entries(mlp, tmp_path)
    arr = data[entry].copy()
    if value == "nan":
        arr[3] = np.nan
    elif value == "float64":
        arr = arr.astype(np.float64)
    elif value == "short":
        arr = arr[:, :7]
    elif value == "negative":
        arr[1] = -1e-3
    else:
        arr = arr + np.float32(0.5)
    data[entry] = arr
    np.savez(tmp_path / "bad.npz", **data)
    _mlp_refused(tmp_path / "bad.npz", message)


def test_mlp_reinforce_refuses_other_agents_configs_and_torch_files(mlp, tmp_path):
    import torch

    TabularReinforce(gym.make(ID), seed=0).save(tmp_path / "tab")
    _mlp_refused(tmp_path / "tab.npz", "holds a saved 'TabularReinforce' agent, not a MLPReinforce")
    mlp.save(tmp_path / "h8")
    _mlp_refused(tmp_path / "h8.npz", r"differs from this agent's .*MLPReinforce\(env", hidden=16)
    # The old format (torch.save of the state dict) is refused, and never unpickled.
    torch.save(mlp.net.state_dict(), tmp_path / "old.pt")
    _mlp_refused(tmp_path / "old.pt", r"expected a MLPReinforce\.save\(\) file")
    _mlp_refused(_write(tmp_path / "junk.npz", b"junk" * 10), "is not an .npz archive")
    with pytest.raises(FileNotFoundError, match=r"neither .*missing nor .*missing\.npz"):
        _fresh_mlp().load(tmp_path / "missing")
