"""DDPM diffusion generator (issue 14): the forward process against its closed form, the samplers against each other
and against a known bimodal distribution, reproducibility, persistence and every error message."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from latentquant.exceptions import ConfigError
from latentquant.models.generative.diffusion import DiffusionGenerator, beta_schedule

MODES = (-2.0, 2.0)
MODE_STD = 0.2


def mixture_windows(n: int = 1500, length: int = 4, seed: int = 0) -> np.ndarray:
    """Windows (n, length, 1) of values drawn i.i.d. from 0.5·N(-2, 0.2²) + 0.5·N(2, 0.2²)."""
    rng = np.random.default_rng(seed)
    return rng.choice(MODES, size=(n, length, 1)) + MODE_STD * rng.normal(size=(n, length, 1))


def mode_shares(samples: np.ndarray) -> tuple[float, float]:
    """Share of values within 0.6 of a mode, and share of those at the upper mode."""
    x = samples.ravel()
    near = np.minimum(np.abs(x - MODES[0]), np.abs(x - MODES[1])) < 0.6
    return float(near.mean()), float((x[near] > 0).mean())


def tiny(**params: object) -> DiffusionGenerator:
    return DiffusionGenerator(**{"n_steps": 10, "channels": 8, "n_blocks": 1, "epochs": 1, "verbose": False,
                                 **params})


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # these networks are too small to gain from a second thread, which only contends with other test workers
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def noise_windows() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(40, 6, 2))


@pytest.fixture(scope="module")
def mixture_model() -> DiffusionGenerator:
    # ~5 s of one core: 1,500 windows, 15 epochs, 100 steps
    return DiffusionGenerator(n_steps=100, schedule="cosine", channels=32, n_blocks=2, epochs=15, batch_size=64,
                              lr=2e-3, seed=0, verbose=False).fit(mixture_windows(1500))


# ----------------------------------------------------------------------------------------------------------------------
# the forward process
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_forward_process_matches_its_closed_form_marginals(schedule, noise_windows):
    model = tiny(n_steps=100, schedule=schedule).fit(noise_windows)
    betas, abar = model.betas_, model.alphas_cumprod_
    assert abar.shape == (100,)
    np.testing.assert_allclose(abar, np.cumprod(1 - betas), rtol=1e-12)
    assert abar[0] > 0.99 and abar[-1] < 1e-3  # starts near the data, ends near pure noise
    assert np.all(np.diff(abar) < 0)

    # x_t by running the chain one step at a time, x_s = sqrt(1 - β_s) x_{s-1} + sqrt(β_s) z, over many draws: its
    # mean and variance are the closed-form sqrt(ᾱ_t)·x0 and 1 − ᾱ_t
    rng = np.random.default_rng(0)
    n = 20_000
    x0 = np.linspace(-1.5, 1.5, 12).reshape(1, 6, 2)
    x = np.repeat(x0, n, axis=0)
    checked = {10, 50, 99}
    for step in range(100):
        x = np.sqrt(1 - betas[step]) * x + np.sqrt(betas[step]) * rng.normal(size=x.shape)
        if step in checked:
            mean_err = np.abs(x.mean(axis=0) - np.sqrt(abar[step]) * x0).max()
            var_err = np.abs(x.var(axis=0) - (1 - abar[step])).max()
            assert mean_err < 4.5 * np.sqrt(1 / n), (step, mean_err)
            assert var_err < 4.5 * np.sqrt(2 / n), (step, var_err)
            # the closed-form draw (q_sample) has the same marginals
            xq = model.q_sample(np.repeat(x0, n, axis=0), step, rng.normal(size=x.shape))
            assert np.abs(xq.mean(axis=0) - np.sqrt(abar[step]) * x0).max() < 4.5 * np.sqrt(1 / n)
            assert np.abs(xq.var(axis=0) - (1 - abar[step])).max() < 4.5 * np.sqrt(2 / n)


def test_schedules_follow_their_papers():
    # cosine: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2), s = 0.008, exact wherever β is not clipped at 0.999
    T, s = 200, 0.008
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    abar = np.cumprod(1 - beta_schedule(T, "cosine"))
    np.testing.assert_allclose(abar[:-1], f[1:-1] / f[0], rtol=1e-9)
    # linear: Ho et al.'s 1e-4 → 0.02 over 1,000 steps, the same total noise over T steps
    np.testing.assert_allclose(beta_schedule(1000, "linear")[[0, -1]], [1e-4, 0.02])
    np.testing.assert_allclose(beta_schedule(100, "linear")[[0, -1]], [1e-3, 0.2])
    assert np.cumprod(1 - beta_schedule(1000, "linear"))[-1] == pytest.approx(4.0e-5, rel=0.05)


def test_q_sample_takes_tensors_and_per_window_steps(noise_windows):
    model = tiny().fit(noise_windows)
    x0, noise = torch.ones(3, 6, 2), torch.zeros(3, 6, 2)
    out = model.q_sample(x0, torch.tensor([0, 4, 9]), noise)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out[:, 0, 0].numpy(), np.sqrt(model.alphas_cumprod_[[0, 4, 9]]), rtol=1e-6)


# ----------------------------------------------------------------------------------------------------------------------
# the samplers on a known distribution
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sampler", "extra"), [("ddpm", {}), ("ddim", {"ddim_steps": 20})])
def test_reproduces_the_modes_of_a_gaussian_mixture(mixture_model, sampler, extra):
    try:
        samples = mixture_model.set_params(sampler=sampler, **extra).sample(1000, seed=1)
    finally:
        mixture_model.set_params(sampler="ddpm")
    assert samples.shape == (1000, 4, 1)
    near, upper = mode_shares(samples)
    assert near > 0.8, near
    assert 0.3 < upper < 0.7, upper
    # the values of a window are independent in the data: no spurious dependence between neighbouring steps
    corr = np.corrcoef(samples[:, 1, 0], samples[:, 2, 0])[0, 1]
    assert abs(corr) < 0.2, corr


def test_linear_schedule_with_attention_reproduces_the_modes():
    model = DiffusionGenerator(n_steps=50, schedule="linear", channels=16, n_blocks=2, attention=True, n_heads=2,
                               epochs=15, batch_size=64, lr=2e-3, seed=0, verbose=False)
    near, upper = mode_shares(model.fit(mixture_windows()).sample(1000, seed=1))
    assert near > 0.8, near
    assert 0.3 < upper < 0.7, upper


def test_ddim_with_full_noise_on_every_step_is_ddpm(mixture_model):
    # with eta = 1 on all n_steps, each DDIM step is the DDPM posterior step, drawing the same noise in the same order
    ddpm = mixture_model.sample(50, seed=3)
    try:
        mixture_model.set_params(sampler="ddim", ddim_steps=100, ddim_eta=1.0)
        ddim = mixture_model.sample(50, seed=3)
    finally:
        mixture_model.set_params(sampler="ddpm", ddim_steps=50, ddim_eta=0.0)
    np.testing.assert_allclose(ddim, ddpm, atol=1e-3)


# ----------------------------------------------------------------------------------------------------------------------
# reproducibility, persistence, the estimator contract
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_same_seed_same_windows(noise_windows, sampler):
    model = tiny(sampler=sampler, ddim_steps=4).fit(noise_windows)
    a, b = model.sample(5, seed=7), model.sample(5, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, model.sample(5, seed=8))
    # the model's own stream: successive calls differ, the sequence restarts with a refit of the same seed
    first = model.sample(5), model.sample(5)
    assert not np.allclose(*first)
    again = tiny(sampler=sampler, ddim_steps=4).fit(noise_windows)
    np.testing.assert_array_equal(again.history_["train_loss"], model.history_["train_loss"])
    np.testing.assert_array_equal(again.sample(5), first[0])


def test_save_load_round_trip_gives_identical_samples(noise_windows, tmp_path):
    model = tiny(attention=True, n_heads=2, schedule="linear").fit(noise_windows)
    loaded = DiffusionGenerator.load(model.save(tmp_path / "ddpm"))
    np.testing.assert_array_equal(loaded.alphas_cumprod_, model.alphas_cumprod_)
    np.testing.assert_array_equal(loaded.sample(6, seed=4), model.sample(6, seed=4))
    for est in (model, loaded):
        est.set_params(sampler="ddim", ddim_steps=5)
    np.testing.assert_array_equal(loaded.sample(6, seed=4), model.sample(6, seed=4))


def test_clone_keeps_every_hyperparameter(noise_windows):
    model = tiny(schedule="linear", attention=True, n_heads=4, sampler="ddim", ddim_steps=3, clip_denoised=None,
                 seed=5)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert {"length", "epochs", "batch_size", "lr", "validation_split", "early_stopping", "patience", "seed",
            "device", "verbose", "n_steps", "schedule", "ddim_steps"} <= set(twin.get_params())
    assert not hasattr(twin, "network_")
    np.testing.assert_array_equal(twin.fit(noise_windows).sample(3, seed=0),
                                  clone(model).fit(noise_windows).sample(3, seed=0))


def test_samples_are_in_data_units_and_bounded(noise_windows):
    shifted = 100.0 + 5.0 * noise_windows
    model = tiny(clip_denoised=0.0).fit(shifted)
    out = model.sample(20, seed=0)
    # with clip_denoised=0 the last step's clean prediction stays inside the training range
    lo, hi = shifted.min(axis=(0, 1)), shifted.max(axis=(0, 1))
    assert np.all(out >= lo - 1e-6) and np.all(out <= hi + 1e-6)
    assert np.isfinite(out).all()
    # one DDIM step jumps from pure noise straight to the clipped clean prediction
    one = model.set_params(sampler="ddim", ddim_steps=1).sample(20, seed=0)
    assert np.all(one >= lo - 1e-6) and np.all(one <= hi + 1e-6)
    assert not np.allclose(one, out)


# ----------------------------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("params", "match"), [
    ({"schedule": "quadratic"},
     r"DiffusionGenerator: schedule must be one of \['cosine', 'linear'\], got 'quadratic'"),
    ({"sampler": "euler"}, r"DiffusionGenerator: sampler must be one of \['ddpm', 'ddim'\], got 'euler'"),
    ({"n_steps": 0}, r"DiffusionGenerator: n_steps must be"),
    ({"sampler": "ddim", "ddim_steps": 11},
     r"ddim_steps=11 exceeds n_steps=10; DDIM runs on a subsequence of the diffusion steps, so pass ddim_steps <= 10 "
     r"or raise n_steps"),
    ({"kernel_size": 4}, r"kernel_size=4 must be odd so that the convolutions keep the window length; pass "
                         r"kernel_size=5"),
    ({"attention": True, "channels": 8, "n_heads": 3},
     r"channels=8 is not divisible by n_heads=3; the attention layer splits the channels among the heads, so pick "
     r"n_heads among \[1, 2, 4, 8\]"),
    ({"clip_denoised": -1.0}, r"DiffusionGenerator: clip_denoised must be"),
])
def test_bad_hyperparameters_are_config_errors(noise_windows, params, match):
    with pytest.raises(ConfigError, match=match):
        tiny(**params).fit(noise_windows)


def test_bad_sampling_settings_after_fit_are_config_errors(noise_windows):
    model = tiny().fit(noise_windows)
    with pytest.raises(ConfigError, match=r"ddim_steps=20 exceeds n_steps=10;.*pass ddim_steps <= 10"):
        model.set_params(sampler="ddim", ddim_steps=20).sample(2)
    with pytest.raises(ConfigError, match=r"DiffusionGenerator: sampler must be one of \['ddpm', 'ddim'\], got 'x'"):
        model.set_params(sampler="x").sample(2)
    model.set_params(sampler="ddpm")
    with pytest.raises(ConfigError, match=r"t must be integer steps in \[0, 10\), got \[10\]; the schedule has "
                                          r"n_steps=10 steps"):
        model.q_sample(np.zeros((1, 6, 2)), 10, np.zeros((1, 6, 2)))
