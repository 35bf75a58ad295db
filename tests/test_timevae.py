"""TimeVAE (issue 14): the interpretable blocks recover a known trend and seasonality, samples match the data's
moments in its units, the ELBO is a density in the data's units, persistence and seeds, and the typed errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.base import clone

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.generative._timevae_net import _conv_transpose_s2
from latentquant.models.generative.timevae import TimeVAE, TimeVAENetwork, polynomial_basis, season_index
from latentquant.training.checkpoint import build_module, module_config

L = 20
SLOPES = np.array([0.1, -0.06])  # per day, before the change of units
PATTERN = np.array([1.0, -0.5, 0.3, -1.2, 0.4])  # period 5, centred below
AMPLITUDES = np.array([1.0, 0.6])
UNITS = np.array([0.01, 2.0])  # feature 0 like a return, feature 1 like a log variance
SHIFT = np.array([0.05, -3.0])


def _trend_season_windows(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``level + slope·t + s[(t + phase) mod 5] + noise`` in two features of very different units, and the
    true seasonal part (same units)."""
    rng = np.random.default_rng(seed)
    t = np.arange(L)
    level = rng.normal(size=(n, 1, 2))
    phase = rng.integers(0, 5, size=n)
    pattern = PATTERN - PATTERN.mean()
    season = pattern[(t[None, :] + phase[:, None]) % 5][:, :, None] * AMPLITUDES
    x = level + SLOPES * t[None, :, None] + season + 0.05 * rng.normal(size=(n, L, 2))
    return x * UNITS + SHIFT, season * UNITS


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    # small convolutions: one thread is faster (and not slowed by a busy machine), and fits the same everywhere
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _fit_interpretable(windows: np.ndarray, seasonal: list[tuple[int, int]]) -> TimeVAE:
    model = TimeVAE(hidden_channels=(16, 32), interpretable=True, trend_poly=2, seasonal=seasonal,
                    use_residual=False, epochs=120, batch_size=32, lr=3e-3, verbose=False, seed=0)
    return model.fit(windows)


def _rmse(model: TimeVAE, windows: np.ndarray) -> np.ndarray:
    """Reconstruction error per feature, in the units before UNITS."""
    recon = sum(model.decompose(windows).values())
    return np.sqrt(((recon - windows) ** 2).mean(axis=(0, 1))) / UNITS


@pytest.fixture(scope="module")
def fitted() -> tuple[TimeVAE, np.ndarray, np.ndarray]:
    windows, season = _trend_season_windows()
    return _fit_interpretable(windows, [(5, 1)]), windows, season


# ---------------------------------------------------------------------------------------------------------- blocks
@pytest.mark.parametrize(("c_in", "c_out", "length"), [(5, 3, 4), (1, 2, 1), (8, 8, 3)])
def test_conv_transpose_as_a_matrix_product_equals_torch(c_in, c_out, length):
    torch.manual_seed(0)
    conv = torch.nn.ConvTranspose1d(c_in, c_out, 3, stride=2, padding=1, output_padding=1).double()
    h = torch.randn(6, c_in, length, dtype=torch.float64)
    out = _conv_transpose_s2(conv, h.transpose(1, 2)).transpose(1, 2)
    assert out.shape == (6, c_out, 2 * length)
    assert torch.allclose(out, conv(h), atol=1e-12)


def test_pure_functions():
    assert polynomial_basis(5, 2).tolist()[0] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert polynomial_basis(5, 0).shape == (0, 5)
    assert season_index(12, 4, 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_blocks_recover_linear_trend_and_period_5_season(fitted):
    model, windows, season = fitted
    parts = model.decompose(windows)
    # the residual path is off: level, trend and season alone must carry every window
    assert set(parts) == {"level", "trend", "seasonal_0"}
    rmse = _rmse(model, windows)
    assert (rmse < 0.2).all(), rmse  # the season alone has a std of 0.8 / 0.5 (in the units before UNITS)

    t = np.arange(L)
    design = np.c_[np.ones(L), t]
    for f in range(2):
        trend = parts["trend"][:, :, f].T  # (L, n)
        coef, *_ = np.linalg.lstsq(design, trend, rcond=None)
        resid = trend - design @ coef
        r2 = 1 - (resid**2).sum() / ((trend - trend.mean(axis=0)) ** 2).sum()
        assert r2 > 0.95, (f, r2)  # a straight line, although the block may bend (degree 2)
        assert np.all(np.sign(coef[1]) == np.sign(SLOPES[f])), f  # every window's slope has the right sign
        true_slope = SLOPES[f] * UNITS[f]
        assert coef[1].mean() == pytest.approx(true_slope, rel=0.1), f
        assert np.abs(parts["trend"][:, 0, f]).max() < 1e-12  # no constant: the level holds it

        seasonal = parts["seasonal_0"][:, :, f]
        np.testing.assert_allclose(seasonal[:, 5:], seasonal[:, :-5], atol=1e-9)  # period 5
        corr = np.array([np.corrcoef(seasonal[i], season[i, :, f])[0, 1] for i in range(len(windows))])
        assert np.median(corr) > 0.98 and corr.min() > 0.9, (f, np.median(corr), corr.min())
        amplitude = seasonal.std() / season[:, :, f].std()
        assert 0.8 < amplitude < 1.2, (f, amplitude)


def test_without_the_seasonal_block_the_season_is_left_unexplained(fitted):
    # the negative control: the same model without its seasonal block cannot rebuild the windows
    model, windows, _ = fitted
    no_season = _fit_interpretable(windows, [])
    assert set(no_season.decompose(windows[:2])) == {"level", "trend"}
    with_season, without = _rmse(model, windows), _rmse(no_season, windows)
    assert (without > 0.8 * AMPLITUDES * (PATTERN - PATTERN.mean()).std()).all(), without
    assert (without > 3 * with_season).all(), (without, with_season)


def test_history_carries_recon_and_kl(fitted):
    model, _, _ = fitted
    h = model.history_
    assert len(h["train_loss"]) == 120
    # loss = recon_weight · SSE + KL, batch-weighted means over the epoch
    np.testing.assert_allclose(h["train_loss"], 3.0 * np.array(h["train_recon"]) + np.array(h["train_kl"]),
                               rtol=1e-4)
    assert h["train_recon"][-1] < 0.2 * h["train_recon"][0]
    assert h["train_kl"][-1] > 1.0  # the latent space is used (no posterior collapse)


# ---------------------------------------------------------------------------------------------------------- samples
def test_samples_match_mean_and_std_per_feature_in_data_units(fitted):
    model, windows, _ = fitted
    samples = model.sample(2000, seed=0)
    assert samples.shape == (2000, L, 2) and samples.dtype == np.float64
    mean, std = windows.mean(axis=(0, 1)), windows.std(axis=(0, 1))
    s_mean, s_std = samples.mean(axis=(0, 1)), samples.std(axis=(0, 1))
    assert np.all(np.abs(s_mean - mean) < 0.2 * std), (s_mean, mean, std)
    # decoder means, no observation noise (the paper's sampler): the spread may fall a little short of the data's
    assert np.all(np.abs(s_std / std - 1) < 0.25), (s_std, std)
    # the synthetic windows carry the learned structure: a positive / negative drift over the window
    drift = (samples[:, -5:] - samples[:, :5]).mean(axis=(0, 1)) / UNITS
    assert drift[0] > 0.5 * 15 * SLOPES[0] and drift[1] < 0.5 * 15 * SLOPES[1], drift


def test_same_seed_same_samples_and_same_training():
    windows, _ = _trend_season_windows(n=48)
    kwargs: dict[str, Any] = dict(hidden_channels=(4, 8), latent_dim=3, epochs=3, batch_size=16, verbose=False, seed=7)
    a, b = TimeVAE(**kwargs).fit(windows), TimeVAE(**kwargs).fit(windows)
    np.testing.assert_array_equal(a.sample(6, seed=1), a.sample(6, seed=1))
    np.testing.assert_array_equal(a.sample(6, seed=1), b.sample(6, seed=1))
    assert not np.array_equal(a.sample(6, seed=1), a.sample(6, seed=2))
    c = TimeVAE(**{**kwargs, "seed": 8}).fit(windows)
    assert not np.array_equal(a.sample(6, seed=1), c.sample(6, seed=1))


def test_save_load_round_trip(fitted, tmp_path):
    model, windows, _ = fitted
    model.save(tmp_path / "tv")
    loaded = TimeVAE.load(tmp_path / "tv")
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.sample(50, seed=3), model.sample(50, seed=3))
    np.testing.assert_array_equal(loaded.elbo(windows[:10]), model.elbo(windows[:10]))
    np.testing.assert_array_equal(loaded.decompose(windows[:4])["seasonal_0"],
                                  model.decompose(windows[:4])["seasonal_0"])
    # unseeded sampling restarts from the seed hyperparameter on load, like after fit
    fresh = TimeVAE.load(tmp_path / "tv")
    np.testing.assert_array_equal(fresh.sample(5), TimeVAE.load(tmp_path / "tv").sample(5))


def test_sample_noise_is_the_training_reconstruction_residual(fitted, tmp_path):
    model, windows, _ = fitted
    residual = windows - sum(model.decompose(windows).values())  # training windows at the posterior mean
    np.testing.assert_allclose(model.noise_scale_ * model.scale_, np.sqrt((residual**2).mean(axis=(0, 1))),
                               rtol=1e-5)
    noisy = copy.deepcopy(model).set_params(sample_noise=True)
    # the same seed draws the same latent codes first: the difference is the observation noise alone
    noise = noisy.sample(4000, seed=5) - model.sample(4000, seed=5)
    std = noise.std(axis=(0, 1))
    np.testing.assert_allclose(std, model.noise_scale_ * model.scale_, rtol=0.03)
    assert abs(np.corrcoef(noise[:, :-1, 0].ravel(), noise[:, 1:, 0].ravel())[0, 1]) < 0.03  # white
    noisy.save(tmp_path / "noisy")
    np.testing.assert_array_equal(TimeVAE.load(tmp_path / "noisy").sample(7, seed=2), noisy.sample(7, seed=2))


def test_clone_keeps_parameters_and_drops_the_fit(fitted):
    model, _, _ = fitted
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.seasonal == [(5, 1)] and copy.hidden_channels == (16, 32)
    assert not hasattr(copy, "network_")
    params = TimeVAE().get_params()
    for name in ("length", "latent_dim", "hidden_channels", "interpretable", "trend_poly", "seasonal", "use_level",
                 "use_residual", "recon_weight", "epochs", "batch_size", "lr", "validation_split",
                 "early_stopping", "patience", "seed", "device", "verbose"):
        assert name in params, name


# ---------------------------------------------------------------------------------------------------------- elbo
def test_elbo_higher_on_training_like_windows_than_on_shuffled_noise(fitted):
    model, _, _ = fitted
    fresh, _ = _trend_season_windows(n=100, seed=1)  # same process, windows not trained on
    rows = fresh.reshape(-1, 2)
    noise = np.random.default_rng(2).permutation(rows).reshape(fresh.shape)  # same marginals, no structure
    good, bad = model.elbo(fresh), model.elbo(noise)
    assert good.shape == (100,) and np.isfinite(good).all() and np.isfinite(bad).all()
    assert np.median(good) > np.median(bad) + 50, (np.median(good), np.median(bad))
    assert (good > np.quantile(bad, 0.99)).mean() > 0.95
    np.testing.assert_array_equal(model.elbo(fresh[:5], seed=4), model.elbo(fresh[:5], seed=4))


def test_elbo_is_a_density_in_data_units():
    # standardisation makes the network blind to a change of units: x·c gives the same network, and the ELBO of
    # the rescaled windows moves by the log-Jacobian -L·Σ_f log c_f
    windows, _ = _trend_season_windows(n=48)
    c = np.array([10.0, 0.5])
    kwargs: dict[str, Any] = dict(hidden_channels=(4,), latent_dim=2, epochs=2, batch_size=16, verbose=False)
    a, b = TimeVAE(**kwargs).fit(windows), TimeVAE(**kwargs).fit(windows * c)
    np.testing.assert_allclose(b.elbo(windows[:8] * c), a.elbo(windows[:8]) - L * np.log(c).sum(), rtol=1e-5)
    # a single draw of z: the Monte Carlo mean converges to the same value (closed-form parts are exact)
    assert np.isfinite(a.elbo(windows[:8], n_samples=1)).all()


# ---------------------------------------------------------------------------------------------------------- variants
def test_base_variant_and_odd_length():
    rng = np.random.default_rng(0)
    windows = np.cumsum(rng.normal(size=(40, 21, 1)), axis=1)  # length 21: odd is fine
    model = TimeVAE(hidden_channels=(4, 8), epochs=2, verbose=False).fit(windows)
    assert type(model.network_).__name__ == "TimeVAENetwork"
    assert model.network_.trend is None and model.network_.level is None and len(model.network_.seasonal) == 0
    assert model.sample(3, seed=0).shape == (3, 21, 1)
    parts = model.decompose(windows[:2])
    assert set(parts) == {"level", "residual"}
    np.testing.assert_allclose(parts["level"], np.broadcast_to(model.mean_, (2, 21, 1)))


def test_network_config_round_trip_and_parameter_count():
    net = TimeVAENetwork(2, 20, 4, [8, 16], trend_poly=2, seasonal=[(5, 1), (2, 5)], use_level=True,
                         use_residual=True)
    name, config = module_config(net)
    rebuilt = build_module(name, config)
    assert sum(p.numel() for p in rebuilt.parameters()) == TimeVAENetwork.parameter_count(config)
    assert TimeVAENetwork.parameter_count(config) == sum(p.numel() for p in net.parameters())
    with pytest.raises(ConfigError, match=r"hidden_channels\[1\] is 0, not an integer >= 1"):
        TimeVAENetwork.parameter_count({**config, "hidden_channels": [8, 0]})


# ---------------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kwargs", "length", "message"), [
    ({"hidden_channels": (4, 8, 16)}, 7,
     r"TimeVAE: windows of 7 days are too short for 3 stride-2 conv layers \(hidden_channels=\(4, 8, 16\)\); they "
     r"need at least 8 days: pass length >= 8 or fewer hidden_channels\."),
    ({"hidden_channels": (4,), "interpretable": True, "seasonal": [(5, 1), (4, 5)]}, 12,
     r"TimeVAE: the seasonal block \(4, 5\) has a cycle of 20 days, longer than the windows of 12 days, so some "
     r"seasons never show in a window; use fewer or shorter seasons, or a longer length\."),
    ({"seasonal": [(1, 5)]}, 12,
     r"TimeVAE: seasonal\[0\] must be a pair \(n_seasons, season_length\) of integers with n_seasons >= 2 and "
     r"season_length >= 1, got \(1, 5\); e\.g\. \(5, 1\) for a day-of-week pattern\."),
    ({"seasonal": [(5, 1, 2)]}, 12, r"TimeVAE: seasonal\[0\] must be a pair"),
    ({"seasonal": (5, 1)}, 12, r"TimeVAE: seasonal must be a list of \(n_seasons, season_length\) pairs, e\.g\. \[\(5, 1\)\], got \(5, 1\)\."),
    ({"use_residual": False}, 12,
     r"TimeVAE: the base variant \(interpretable=False\) decodes with the residual path alone; set "
     r"use_residual=True, or interpretable=True to decode with the level, trend and seasonal blocks\."),
    ({"interpretable": True, "use_level": False, "trend_poly": 0, "use_residual": False}, 12,
     r"TimeVAE: every decoder block is switched off \(use_level=False, trend_poly=0, seasonal=\(\), "
     r"use_residual=False\); switch at least one on\."),
    ({"recon_weight": 0.0}, 12, r"TimeVAE: recon_weight must be a positive number, got 0\.0\."),
    ({"hidden_channels": ()}, 12, r"TimeVAE: hidden_channels must be a list of positive integers \(at least 1\)"),
])
def test_bad_configuration_raises_config_error_naming_the_fix(kwargs, length, message):
    series = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.raises(ConfigError, match=message):
        TimeVAE(length=length, epochs=1, verbose=False, **kwargs).fit(series)


def test_bad_windows_for_elbo_and_sampling(fitted):
    model, windows, _ = fitted
    with pytest.raises(DataValidationError, match=r"TimeVAE: windows must be shaped \(n, 20, 2\) like the training "
                                                  r"windows, got \(3, 19, 2\)\."):
        model.elbo(windows[:3, :19])
    bad = windows[:2].copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(DataValidationError, match=r"TimeVAE: windows hold NaN/inf values; drop those windows\."):
        model.decompose(bad)
    with pytest.raises(ConfigError, match=r"TimeVAE: n_samples must be a positive integer, got 0\."):
        model.elbo(windows[:2], n_samples=0)
    with pytest.raises(ConfigError, match=r"TimeVAE samples unconditionally and takes no condition; pass "
                                          r"condition=None\."):
        model.sample(2, condition=np.ones(3))
