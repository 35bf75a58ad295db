"""Correctness of the VAE toolkit: closed forms, recovery of simulated truth, reproducibility, persistence, errors."""

import json

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.metrics import roc_auc_score

from latentquant.exceptions import CheckpointError, ConfigError, DataValidationError
from latentquant.models import (
    VAE,
    AETrainer,
    Autoencoder,
    DenoisingAutoencoder,
    anomaly_threshold,
    kl_divergence,
    load_model,
)


def standardise(X):
    return (X - X.mean(0)) / X.std(0)


def canonical_correlations(A, B):
    """Canonical correlations of two column sets = cosines of the principal angles between centred spans."""
    return np.sort(np.cos(subspace_angles(A - A.mean(0), B - B.mean(0))))


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    log_var = torch.tensor([[0.3, -0.7, 1.1]])
    std = torch.exp(0.5 * log_var)
    z = mu + std * torch.randn(400_000, 3, generator=g)
    q = torch.distributions.Normal(mu, std).log_prob(z).sum(1)
    p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    mc = (q - p)
    closed = kl_divergence(mu, log_var).item()
    assert abs(mc.mean().item() - closed) < 4 * mc.std().item() / np.sqrt(len(mc))
    assert closed == pytest.approx(torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, std), torch.distributions.Normal(0.0, 1.0)).sum().item(), rel=1e-6)


def test_kl_divergence_is_the_shared_formula_bit_for_bit():
    """kl_divergence delegates to latentquant._math.kl_standard_normal; the numbers (and gradients) are those of
    the closed form it replaced, −½ Σ (1 + log σ² − μ² − σ²)."""
    from latentquant._math import kl_standard_normal

    g = torch.Generator().manual_seed(1)
    mu = torch.randn(257, 7, generator=g, requires_grad=True)
    log_var = (2 * torch.randn(257, 7, generator=g)).requires_grad_(True)
    new = kl_divergence(mu, log_var)
    old = -0.5 * torch.sum(1.0 + log_var - mu.pow(2) - log_var.exp(), dim=1)
    assert torch.equal(new, old)
    assert torch.equal(new, kl_standard_normal(mu, log_var).sum(dim=1))
    grads_new = torch.autograd.grad(new.sum(), (mu, log_var))
    grads_old = torch.autograd.grad(old.sum(), (mu, log_var))
    assert all(torch.equal(a, b) for a, b in zip(grads_new, grads_old, strict=True))
    # a standard normal posterior has KL 0; N(μ, 1) has ½μ² per dimension
    assert kl_divergence(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0
    assert kl_divergence(torch.full((1, 2), 2.0), torch.zeros(1, 2)).item() == pytest.approx(4.0)


def test_reconstruct_decodes_the_latent_mean(factor_data):
    X = standardise(factor_data[0])[:300]
    vae = VAE(20, 3, seed=0)
    AETrainer(seed=0, verbose=False).fit(vae, X, epochs=2)
    vae.train()  # reconstruct is deterministic whatever the mode, and leaves the mode as it was
    with torch.no_grad():
        expected = vae.decode(vae.fc_mu(vae.encoder(torch.tensor(X, dtype=torch.float32)))).numpy()
    out = vae.reconstruct(X, batch_size=64)  # several blocks
    assert vae.training
    assert out.shape == (300, 20) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # bit for bit what decoding the extracted features gives (the study's numbers do not move)
    vae.eval()
    via_features = vae.decode(torch.as_tensor(AETrainer.extract_features(vae, X))).detach().numpy()
    np.testing.assert_array_equal(vae.reconstruct(X), via_features)
    # a linear autoencoder of full width with identity weights reconstructs exactly
    ae = Autoencoder(4, 4, hidden_dims=[], activation="identity", seed=0)
    with torch.no_grad():
        ae.fc_z.weight.copy_(torch.eye(4))
        ae.fc_z.bias.zero_()
        ae.decoder[0].weight.copy_(torch.eye(4))
        ae.decoder[0].bias.zero_()
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(ae.reconstruct(x), x.astype(np.float32))


def test_vae_loss_static_method_matches_formula():
    x, recon = torch.randn(8, 5), torch.randn(8, 5)
    mu, log_var = torch.randn(8, 2), torch.randn(8, 2)
    expected = (((recon - x) ** 2).sum() - 2.0 * 0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp())) / 8
    assert AETrainer.vae_loss(recon, x, mu, log_var, beta=2.0).item() == pytest.approx(expected.item(), rel=1e-6)


def test_linear_autoencoder_recovers_pca_subspace(factor_data):
    X = standardise(factor_data[0])
    ae = Autoencoder(input_dim=20, latent_dim=3, hidden_dims=[], activation="identity", seed=0)
    AETrainer(seed=0, verbose=False, lr=1e-2, batch_size=128, validation_split=0, early_stopping=False).fit(
        ae, X, epochs=60)
    decoder_span = ae.decoder[0].weight.detach().numpy()
    top_pcs = np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:3].T
    assert np.max(subspace_angles(decoder_span, top_pcs)) < 0.05


def test_vae_recovers_factor_subspace(factor_data):
    X, F, _ = factor_data
    X = standardise(X)
    vae = VAE(input_dim=20, latent_dim=3, hidden_dims=[32], seed=0)
    AETrainer(seed=0, verbose=False, lr=3e-3).fit(vae, X, epochs=60)
    Z = AETrainer.extract_features(vae, X)
    assert canonical_correlations(Z, F).min() > 0.9


def test_same_seed_identical_weights_and_losses(factor_data):
    X = standardise(factor_data[0])[:400]
    runs = []
    for _ in range(2):
        vae = VAE(20, 3, seed=7)
        h = AETrainer(seed=11, verbose=False).fit(vae, X, epochs=5)
        runs.append((vae, h))
    (v1, h1), (v2, h2) = runs
    assert h1["train_loss"] == h2["train_loss"] and h1["val_kl_loss"] == h2["val_kl_loss"]
    for a, b in zip(v1.state_dict().values(), v2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(v1.sample(10, seed=1), v2.sample(10, seed=1))
    v3 = VAE(20, 3, seed=8)
    assert not torch.equal(v3.fc_mu.weight, VAE(20, 3, seed=7).fc_mu.weight)


@pytest.mark.parametrize("cls", [VAE, Autoencoder, DenoisingAutoencoder])
def test_save_load_round_trip(tmp_path, factor_data, cls):
    X = standardise(factor_data[0])[:300]
    model = cls(20, 3, hidden_dims=[16], seed=0)
    AETrainer(seed=0, verbose=False).fit(model, X, epochs=3)
    model.save(tmp_path / "m", metadata={"note": "test"})
    loaded = cls.load(tmp_path / "m")
    generic = load_model(tmp_path / "m")
    assert type(loaded) is cls and type(generic) is cls
    x = torch.as_tensor(X, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        out_a, out_b = model(x), loaded(x)
    out_a = out_a[0] if isinstance(out_a, tuple) else out_a
    out_b = out_b[0] if isinstance(out_b, tuple) else out_b
    assert torch.equal(out_a, out_b)
    assert torch.equal(model.obs_std, loaded.obs_std)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["metadata"] == {"note": "test"}


def test_checkpoint_errors(tmp_path):
    vae = VAE(10, 2, seed=0)
    path = vae.save(tmp_path / "v")
    with pytest.raises(CheckpointError, match="holds a VAE, not a Autoencoder"):
        Autoencoder.load(path)
    (path / "weights.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="weights.pt could not be read"):
        VAE.load(path)
    VAE(10, 3, seed=0).save(tmp_path / "w")
    (tmp_path / "w" / "config.json").write_text((path / "config.json").read_text())  # config says latent 2
    with pytest.raises(CheckpointError, match="do not match the VAE configuration"):
        VAE.load(tmp_path / "w")
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is corrupted"):
        VAE.load(path)
    with pytest.raises(CheckpointError, match="is missing; pass the directory written by model.save"):
        VAE.load(tmp_path / "nothing")


def test_anomaly_scores_separate_injected_outliers(factor_data):
    X, _, _ = factor_data
    mean, std = X[:1500].mean(0), X[:1500].std(0)
    X = (X - mean) / std
    vae = VAE(20, 3, hidden_dims=[32], seed=0)
    AETrainer(seed=0, verbose=False, lr=3e-3).fit(vae, X[:1500], epochs=40)
    test = X[1500:].copy()
    rng = np.random.default_rng(1)
    outliers = rng.choice(len(test), size=25, replace=False)
    # idiosyncratic shocks that break the factor structure: 4 standard deviations on 3 random assets
    for i in outliers:
        test[i, rng.choice(20, 3, replace=False)] += rng.choice([-4.0, 4.0], 3)
    labels = np.zeros(len(test))
    labels[outliers] = 1
    scores = vae.anomaly_score(test, kl_weight=0.1)
    assert roc_auc_score(labels, scores) > 0.95
    threshold = anomaly_threshold(vae.anomaly_score(X[:1500]), 0.95)
    flagged = vae.detect_anomalies(test, threshold)
    assert flagged[outliers].mean() > 0.9


def test_sample_interpolate_augment_shapes_and_semantics(factor_data):
    X = standardise(factor_data[0])
    vae = VAE(20, 3, hidden_dims=[32], seed=0)
    AETrainer(seed=0, verbose=False, lr=3e-3).fit(vae, X, epochs=30)
    mean_only = vae.sample(5000, seed=0)
    noisy = vae.sample(5000, noise=True, seed=0)
    # observation noise adds the residual variance: total variance of noisy samples is closer to the data's (1.0)
    assert mean_only.var(0).mean() < noisy.var(0).mean()
    assert abs(noisy.var(0).mean().item() - 1.0) < 0.25
    path = vae.interpolate(X[0], X[100], n_steps=7)
    assert path.shape == (7, 20)
    with torch.no_grad():
        ends = vae.decode(vae.encode(torch.as_tensor(X[[0, 100]], dtype=torch.float32))[0])
    torch.testing.assert_close(path[[0, -1]], ends)
    aug = vae.augment(X[[10, 50, 200]], n_samples=4, scale=0.5, seed=0)
    assert aug.shape == (12, 20)
    aug0 = vae.augment(X[[10, 50, 200]], n_samples=4, scale=0.0, seed=0)
    torch.testing.assert_close(aug0[:3], aug0[3:6])  # scale 0 → the posterior mean's decoding


def test_denoising_autoencoder_trains_on_corrupted_inputs(factor_data):
    X = standardise(factor_data[0])[:500]
    dae = DenoisingAutoencoder(20, 3, noise_std=0.5, seed=0)
    h = AETrainer(seed=0, verbose=False).fit(dae, X, epochs=5)
    assert set(h) == {"train_loss", "train_recon_loss", "val_loss", "val_recon_loss", "lr"}
    assert dae.get_config()["noise_std"] == 0.5


def test_bad_inputs_raise_documented_errors():
    with pytest.raises(ConfigError, match="latent_dim must be a positive integer, got 0"):
        VAE(10, 0)
    with pytest.raises(ConfigError, match=r"activation='sigmoidal' is not supported"):
        VAE(10, 2, activation="sigmoidal")
    with pytest.raises(ConfigError, match=r"^AETrainer: beta must be a number >= 0, got -1\.$"):
        AETrainer(beta=-1)
    with pytest.raises(ConfigError, match=r"^AETrainer: beta must be a number >= 0, got inf\.$"):
        AETrainer().fit(VAE(10, 2), np.zeros((20, 10)), beta=float("inf"))
    with pytest.raises(ConfigError, match=r"^hidden_dims must be a list of positive integers or None, got \[8, 0\]\.$"):
        VAE(10, 2, hidden_dims=[8, 0])
    vae = VAE(10, 2, seed=0)
    with pytest.raises(DataValidationError, match=r"X must have shape \(n_samples, 10\) to match input_dim=10, got \(5, 9\)"):
        AETrainer(verbose=False).fit(vae, np.zeros((5, 9)))
    X = np.zeros((20, 10))
    X[3, 4] = np.nan
    with pytest.raises(DataValidationError, match="X has a NaN or infinite value at row 3, column 4"):
        AETrainer(verbose=False).fit(vae, X)
    with pytest.raises(ConfigError, match="n must be a positive integer, got 0"):
        vae.sample(0)
    with pytest.raises(ConfigError, match="n_steps must be an integer >= 2"):
        vae.interpolate(np.zeros(10), np.ones(10), n_steps=1)
    with pytest.raises(ConfigError, match=r"^quantile must be a number in \(0, 1\), got 1.5\.$"):
        anomaly_threshold([1.0, 2.0], 1.5)
    with pytest.raises(ConfigError, match=r"^batch_size must be a positive integer, got 0\.$"):
        vae.reconstruct(np.zeros((3, 10)), batch_size=0)
    with pytest.raises(ConfigError, match="model must be an Autoencoder, DenoisingAutoencoder or VAE"):
        AETrainer().fit(torch.nn.Linear(2, 2), np.zeros((4, 2)))


def test_trainer_options_epochs_and_device_home(factor_data):
    X = standardise(factor_data[0])[:200]
    vae = VAE(20, 2, seed=0)
    h = AETrainer(epochs=3, early_stopping=False, verbose=False).fit(vae, X)
    assert len(h["train_loss"]) == 3
    assert vae.device == torch.device("cpu")  # the model comes back on the device it was given on
    with pytest.raises(DataValidationError, match="must each be one state"):
        vae.interpolate(X[:2], X[3])
