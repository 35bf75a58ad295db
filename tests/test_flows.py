"""Normalizing flows (issue 14): NICE, RealNVP, MAF and the conditioned flows.

Exactness first (invertibility, log-determinant against a brute-force Jacobian), then the density (a flow fitted to a
Gaussian scores held-out windows like the closed form), then the estimator contract and every error message.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.base import clone

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.generative._flow_layers import (
    MADE,
    CouplingFlowNet,
    MaskedAutoregressiveFlowNet,
    coupling_masks,
    made_degrees,
)
from latentquant.models.generative.flows import MAF, NICE, RealNVP, previous_window_index

L, F = 4, 2
D = L * F
SMALL = {"n_layers": 3, "hidden_dims": (16,), "verbose": False}

NETWORKS = {
    "nice": lambda: CouplingFlowNet(L, F, 4, [16], "time", affine=False, rescale=True),
    "realnvp-time": lambda: CouplingFlowNet(L, F, 4, [16], "time", affine=True),
    "realnvp-feature": lambda: CouplingFlowNet(L, F, 4, [16, 16], "feature", affine=True),
    "realnvp-checkerboard-context": lambda: CouplingFlowNet(L, F, 4, [16], "checkerboard", affine=True,
                                                            n_context=1),
    "maf": lambda: MaskedAutoregressiveFlowNet(D, 3, [16, 16]),
    "maf-context": lambda: MaskedAutoregressiveFlowNet(D, 3, [16], n_context=1),
}


def _random_network(name: str) -> torch.nn.Module:
    """A network with every weight perturbed: zero-initialised last layers would make the flow the identity."""
    torch.manual_seed(0)
    net = NETWORKS[name]()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return net.eval()


def _context(name: str, n: int) -> torch.Tensor | None:
    return torch.randn(n, 1) if "context" in name else None


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_every_flow_inverts_exactly(name):
    net = _random_network(name)
    torch.manual_seed(1)
    x, c = torch.randn(256, D), _context(name, 256)
    z, _ = net(x, c)
    assert (z - x).abs().max() > 0.1  # not the identity
    with torch.no_grad():
        assert torch.allclose(net.inverse(z, c), x, atol=1e-5)
        x_of_z = net.inverse(x, c)  # and z -> x -> z, where float32 rounding scales with the size of x
        back, _ = net(x_of_z, c)
    assert torch.allclose(back, x, atol=1e-6 * float(x_of_z.abs().max()))


def _naive_made_inverse(made: MADE, u: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """The textbook inverse: ``D`` full passes, pass ``k`` fixing value ``k`` of the order."""
    x = torch.zeros_like(u)
    for _ in range(made.n_dims):
        shift, log_s = made(x, c)
        x = u * log_s.exp() + shift
    return x


@pytest.mark.parametrize(("n_dims", "hidden", "n_context", "reverse"), [
    (8, [16, 16], 0, False), (8, [16], 2, True), (1, [4], 0, False), (5, [], 1, True), (6, [7, 3, 9], 1, False)])
def test_made_one_pass_inverse_equals_the_d_pass_inverse(n_dims, hidden, n_context, reverse):
    torch.manual_seed(3)
    made = MADE(n_dims, hidden, n_context, reverse).double()
    with torch.no_grad():
        for p in made.parameters():
            p.normal_(0.0, 0.4)
        u = torch.randn(64, n_dims, dtype=torch.float64)
        c = torch.randn(64, n_context, dtype=torch.float64) if n_context else None
        x = made.inverse(u, c)
        expected = _naive_made_inverse(made, u, c)
        shift, log_s = made(x, c)
    assert (x - u).abs().max() > 0.1  # not the identity
    assert torch.allclose(x, expected, atol=1e-12)
    assert torch.allclose((x - shift) * torch.exp(-log_s), u, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_log_det_equals_brute_force_jacobian(name):
    net = _random_network(name).double()
    torch.manual_seed(2)
    x = torch.randn(4, D, dtype=torch.float64)
    c = None if _context(name, 4) is None else torch.randn(4, 1, dtype=torch.float64)
    _, log_det = net(x, c)
    for i in range(len(x)):
        ci = None if c is None else c[i:i + 1]
        jac = torch.autograd.functional.jacobian(lambda v, ci=ci: net(v[None], ci)[0][0], x[i])
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign != 0
        assert abs(float(logabs - log_det[i].detach())) < 1e-9
    assert log_det.std() > 1e-3 or name == "nice"  # input-dependent volume change, except NICE's constant one


def test_nice_log_det_is_the_rescaling_layer():
    net = _random_network("nice")
    _, log_det = net(torch.randn(3, D))
    assert torch.allclose(log_det, net.log_scale.sum().expand(3))


def test_masks_and_made_degrees():
    time, feature, board = (coupling_masks(L, F, m, 2) for m in ("time", "feature", "checkerboard"))
    assert time[0].reshape(L, F)[:, 0].tolist() == [True, False, True, False]
    assert feature[0].reshape(L, F).tolist() == [[True, False]] * L
    assert board[0].reshape(L, F).tolist() == [[True, False], [False, True]] * 2
    assert all((m[0] ^ m[1]).all() for m in (time, feature, board))  # alternating layers cover every value
    inputs, hidden = made_degrees(D, [16], reverse=True)
    assert inputs.tolist() == list(range(D, 0, -1)) and hidden.min() == 1 and hidden.max() == D - 1


def test_previous_window_index():
    assert previous_window_index(np.array([0, 6, 9]), 2).tolist() == [-1, -1, 0, 1, 2, -1, -1]
    assert previous_window_index(np.array([0, 3]), 5).tolist() == []


# ------------------------------------------------------------------------------------------------ density
def _gaussian_windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """i.i.d. windows (n, 4, 2) of a correlated 8-dim Gaussian in 'data units' (returns ~1 %, log variance ~0.5)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(D, D))
    s = a @ a.T + D * np.eye(D)
    corr = s / np.sqrt(np.outer(np.diag(s), np.diag(s)))
    scale = np.tile([0.01, 0.5], L)
    mean = np.tile([0.0005, -9.0], L)
    cov = corr * np.outer(scale, scale)
    x = np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)
    return x.reshape(n, L, F), mean, cov


@pytest.mark.parametrize(("cls", "kwargs"), [
    (NICE, {"n_layers": 6}),
    (RealNVP, {"n_layers": 6, "mask": "checkerboard"}),
    (MAF, {"n_layers": 2}),
])
def test_gaussian_log_likelihood_matches_the_closed_form(cls, kwargs):
    train, mean, cov = _gaussian_windows(2000, seed=1)
    test, _, _ = _gaussian_windows(2000, seed=2)
    model = cls(hidden_dims=(32,), epochs=25, batch_size=250, lr=3e-3, seed=0, verbose=False, **kwargs).fit(train)
    ours = model.log_prob(test)
    truth = multivariate_normal(mean, cov).logpdf(test.reshape(len(test), D))
    gap = ours - truth  # per window, in the data's units (the standardisation Jacobian is ~ -21 nats)
    se = gap.std(ddof=1) / np.sqrt(len(gap))
    # the fitted model may only lose a little likelihood to the truth (~ parameters / n); a wrong log-det term is off
    # by nats per window
    assert -0.2 - 3 * se < gap.mean() < 3 * se, (gap.mean(), se)  # measured: -0.04 (NICE), -0.10, -0.06 (MAF)
    assert np.allclose(model.bits_per_dim(test), -ours / (D * np.log(2)))


# ------------------------------------------------------------------------------------------------ contract
def _vol_regime_series(n: int = 3000, seed: int = 0) -> np.ndarray:
    """Daily returns whose volatility switches between 0.5 % and 2 % (persistent Markov regime) + a noise feature:
    a window's volatility is predicted by the previous window's."""
    rng = np.random.default_rng(seed)
    state = np.zeros(n, dtype=int)
    for t in range(1, n):
        state[t] = state[t - 1] if rng.random() < 0.98 else 1 - state[t - 1]
    vol = np.where(state == 1, 0.02, 0.005)
    return np.c_[vol * rng.standard_normal(n), rng.standard_normal(n)]


@pytest.mark.parametrize("cls", [RealNVP, MAF])
def test_conditioned_sampling_follows_the_previous_volatility(cls):
    series = _vol_regime_series(2000)
    model = cls(length=5, context="previous_vol", hidden_dims=(32,), n_layers=4, epochs=10, batch_size=128,
                lr=3e-3, verbose=False).fit(series)
    assert model.context_mean_ == pytest.approx(np.mean([series[s - 5:s, 0].std(ddof=1)
                                                         for s in range(5, len(series) - 4)]))
    low = model.sample(2000, seed=0, condition=0.005)[:, :, 0].std()
    high = model.sample(2000, seed=0, condition=np.full((2000, 1), 0.02))[:, :, 0].std()
    assert high > 2.0 * low, (low, high)
    assert model.sample(3, seed=0, condition=[0.02]).shape == (3, 5, 2)
    assert model.sample(3, seed=0).shape == (3, 5, 2)  # contexts drawn from the training windows
    windows = np.stack([series[s:s + 5] for s in range(100, 110)])
    previous = np.array([series[s - 5:s, 0].std(ddof=1) for s in range(100, 110)])
    assert model.log_prob(windows, condition=previous).shape == (10,)


def test_conditioned_forecast_follows_the_volatility_without_look_ahead():
    series = pd.DataFrame(_vol_regime_series(2500, seed=1), columns=["r", "noise"],
                          index=pd.bdate_range("2012-01-02", periods=2500))
    model = MAF(length=5, context="previous_vol", hidden_dims=(32,), n_layers=4, epochs=10, batch_size=128, lr=3e-3,
                verbose=False).fit(series.iloc[:2000])
    later = series.iloc[2000:]
    f = model.forecast(later, p=0.05, n_draws=300)
    assert f.index.equals(later.index[5:]) and (f["es"] > f["var"]).all()
    previous = later["r"].rolling(5).std().shift(1).iloc[5:]  # the 5 days before each forecast day
    assert np.corrcoef(f["vol"], previous)[0, 1] > 0.9  # measured 0.99
    # the VaR scales with the regime (measured medians 0.95% and 3.1%)
    assert f["var"][previous < 0.01].median() * 2 < f["var"][previous > 0.01].median()
    shocked = later.copy()
    shocked.iloc[300:, 0] *= 10.0
    g = model.forecast(shocked, p=0.05, n_draws=300)
    pd.testing.assert_frame_equal(f.iloc[:296], g.iloc[:296])  # rows up to day 300 use rows < 300 only
    assert not np.allclose(f["vol"].iloc[296:], g["vol"].iloc[296:])
    draws = model.forecast_draws(later.iloc[:40], 7, seed=3)
    assert draws.shape == (7, 35) and np.array_equal(draws, model.forecast_draws(later.iloc[:40], 7, seed=3))
    # feature 0 is found by name: the same forecasts from its Series or from the columns in another order
    pd.testing.assert_frame_equal(model.forecast(later["r"], p=0.05, n_draws=300), f)
    pd.testing.assert_frame_equal(model.forecast(later[["noise", "r"]], p=0.05, n_draws=300), f)
    with pytest.raises(DataValidationError, match="the series is named 'noise' but feature=0 was asked for"):
        model.forecast(later["noise"])


def test_forecast_errors():
    plain = MAF(length=4, epochs=1, **SMALL).fit(_vol_regime_series(300))
    with pytest.raises(ConfigError, match=re.escape("MAF(context='none') forecasts nothing")):
        plain.forecast(np.zeros(50))
    model = MAF(length=4, context="previous_vol", epochs=1, **SMALL).fit(_vol_regime_series(300))
    with pytest.raises(DataValidationError, match="more than length_ = 4 rows"):
        model.forecast(np.zeros(4))
    with pytest.raises(ConfigError, match="p"):
        model.forecast(np.zeros(50), p=0.9)


@pytest.mark.parametrize("cls", [NICE, RealNVP, MAF])
def test_same_seed_same_samples_and_save_load_round_trip(cls, tmp_path):
    windows, _, _ = _gaussian_windows(200, seed=3)
    a = cls(epochs=2, seed=5, **SMALL).fit(windows)
    b = cls(epochs=2, seed=5, **SMALL).fit(windows)
    assert np.array_equal(a.sample(50, seed=1), b.sample(50, seed=1))
    assert np.array_equal(a.sample(50, seed=1), a.sample(50, seed=1))
    assert not np.array_equal(a.sample(50, seed=1), a.sample(50, seed=2))
    loaded = cls.load(a.save(tmp_path / "flow"))
    assert np.array_equal(loaded.sample(50, seed=1), a.sample(50, seed=1))
    assert np.array_equal(loaded.log_prob(windows), a.log_prob(windows))
    assert loaded.history_ == a.history_


def test_conditioned_save_load_and_clone(tmp_path):
    series = _vol_regime_series(400)
    model = MAF(length=5, context="previous_vol", epochs=2, **SMALL).fit(series)
    loaded = MAF.load(model.save(tmp_path / "maf"))
    cond = np.linspace(0.004, 0.03, 20)
    assert np.array_equal(loaded.sample(20, seed=3, condition=cond), model.sample(20, seed=3, condition=cond))
    assert np.array_equal(loaded.sample(20, seed=3), model.sample(20, seed=3))
    assert loaded.context_scale_ == model.context_scale_
    params = RealNVP(length=5, mask="feature", context="previous_vol", hidden_dims=(8, 4), epochs=3).get_params()
    assert clone(RealNVP(**params)).get_params() == params
    assert set(params) == {"length", "n_layers", "hidden_dims", "mask", "context", "epochs", "batch_size", "lr",
                           "validation_split", "early_stopping", "patience", "seed", "device", "verbose"}
    assert not hasattr(clone(model), "network_")


def test_history_records_bits_per_dim():
    windows, _, _ = _gaussian_windows(200, seed=3)
    model = RealNVP(epochs=3, validation_split=0.2, **SMALL).fit(windows)
    loss, bpd = np.array(model.history_["val_loss"]), np.array(model.history_["val_bits_per_dim"])
    assert np.allclose(bpd, loss / (D * np.log(2)), rtol=1e-5)


# ------------------------------------------------------------------------------------------------ errors
def test_error_messages():
    windows, _, _ = _gaussian_windows(60, seed=4)
    single = windows[:, :, :1]
    with pytest.raises(ConfigError, match=r"RealNVP: mask='feature' needs at least 2 features or mask='time' "
                                          r"\(windows are 4 x 1\)"):
        RealNVP(mask="feature", epochs=1, **SMALL).fit(single)
    with pytest.raises(ConfigError, match=r"NICE: mask='time' needs a window length of at least 2"):
        NICE(length=1, epochs=1, **SMALL).fit(windows)
    with pytest.raises(ConfigError, match=r"context='previous_vol' needs windows of at least 2 days"):
        RealNVP(length=1, mask="feature", context="previous_vol", epochs=1, **SMALL).fit(windows)
    with pytest.raises(ConfigError, match=r"mask must be one of \['time', 'feature', 'checkerboard'\]"):
        NICE(mask="rows").fit(windows)
    with pytest.raises(ConfigError, match=r"context must be one of \['none', 'previous_vol'\]"):
        MAF(context="vix").fit(windows)
    with pytest.raises(ConfigError, match=r"hidden_dims must be a list of positive integers \(at least 1\)"):
        MAF(hidden_dims=()).fit(windows)
    with pytest.raises(DataValidationError, match=r"needs at least 8 training windows with 4 days of history before "
                                                  r"them, the data give 0; pass a longer history"):
        MAF(context="previous_vol", epochs=1, **SMALL).fit(windows[::2])  # non-overlapping: no window has a past

    plain = MAF(epochs=1, **SMALL).fit(windows)
    with pytest.raises(ConfigError, match=r"MAF\(context='none'\) samples unconditionally and takes no condition"):
        plain.sample(2, condition=0.01)
    with pytest.raises(ConfigError, match=r"NICE samples unconditionally and takes no condition"):
        NICE(epochs=1, **SMALL).fit(windows).sample(2, condition=0.01)
    with pytest.raises(DataValidationError, match=r"windows must be shaped \(n, 4, 2\)"):
        plain.log_prob(windows[:, :3])

    series = _vol_regime_series(200)
    cond = RealNVP(length=4, context="previous_vol", epochs=1, **SMALL).fit(series)
    with pytest.raises(ConfigError, match=r"condition must be a number, or an array of shape \(1,\), \(3,\) or "
                                          r"\(3, 1\) with the previous 4-day volatility of feature 'x0' for each of "
                                          r"the 3 windows; got shape \(2,\)"):
        cond.sample(3, condition=[0.01, 0.02])
    with pytest.raises(ConfigError, match=r"got shape \(3, 2\)"):
        cond.sample(3, condition=np.ones((3, 2)))
    with pytest.raises(DataValidationError, match=r"condition holds NaN, infinite or negative volatilities"):
        cond.sample(2, condition=[np.nan, 0.01])
    with pytest.raises(DataValidationError, match=r"negative volatilities"):
        cond.sample(1, condition=-0.01)
    with pytest.raises(ConfigError, match=r"RealNVP\(context='previous_vol'\) needs condition=, the previous "
                                          r"4-day volatility of each window"):
        cond.log_prob(np.stack([series[:4]]))
