"""FactorVAE: a linear VAE with learned noise is probabilistic PCA / factor analysis; the defaults are the plain VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA, FactorAnalysis

from latentquant.exceptions import ConfigError
from latentquant.models.autoencoder import VAE, AETrainer
from latentquant.models.factor._network import FactorVAE

N, K, T = 8, 2, 3000


def _data(noise: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(N, K)) * np.array([2.0, 1.0])
    x = rng.normal(size=(T, K)) @ w.T + rng.normal(size=(T, N)) * np.sqrt(noise)
    return (x - x.mean(axis=0)).astype(np.float32)


def _fit(x: np.ndarray, likelihood: str, epochs: int = 200) -> FactorVAE:
    net = FactorVAE(N, K, [], likelihood=likelihood, seed=0)
    AETrainer(beta=1.0, batch_size=250, lr=2e-2, validation_split=0.0, early_stopping=False, seed=0,
              verbose=False).fit(net, x, epochs=epochs)
    return net.eval()


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Largest principal angle (radians) between the column spaces of a and b."""
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    return float(np.arccos(np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False).min(), -1, 1)))


@pytest.fixture(scope="module")
def isotropic():
    x = _data(np.full(N, 0.5))
    return x, _fit(x, "isotropic")


def test_linear_vae_with_isotropic_noise_is_probabilistic_pca(isotropic):
    # Tipping & Bishop (1999): the ML loadings span the top-K eigenvectors of the sample covariance and
    # sigma^2 is the mean of the discarded eigenvalues; the ELBO of the optimal linear VAE is the exact likelihood
    x, net = isotropic
    cov = x.T.astype(np.float64) @ x / len(x)
    eigval, eigvec = np.linalg.eigh(cov)
    sigma2_ml = eigval[: N - K].mean()
    sigma2 = float(torch.exp(net.log_noise.detach()).item())
    assert sigma2 == pytest.approx(sigma2_ml, rel=0.02)
    decoder = next(m for m in net.decoder.modules() if isinstance(m, torch.nn.Linear)).weight.detach().double().numpy()
    assert _angle(decoder, eigvec[:, -K:]) < 0.05
    ll = net.log_likelihood(torch.from_numpy(x), n_samples=50, seed=0).mean().item()
    ppca = PCA(n_components=K).fit(x).score(x)  # average pPCA log-likelihood per row
    assert ll == pytest.approx(ppca, abs=0.02)  # nats per row (the ELBO of the ML linear VAE is exact)
    assert ll <= ppca + 0.01  # a lower bound (up to sampling noise) on the likelihood of the ML model


def test_linear_vae_with_diagonal_noise_is_factor_analysis():
    noise = np.linspace(0.2, 1.5, N)
    x = _data(noise, seed=1)
    net = _fit(x, "diagonal")
    fa = FactorAnalysis(n_components=K, random_state=0).fit(x)
    var = net.noise_variance().detach().double().numpy()
    np.testing.assert_allclose(var, fa.noise_variance_, rtol=0.1)
    ll = net.log_likelihood(torch.from_numpy(x), n_samples=50, seed=0).mean().item()
    assert ll == pytest.approx(fa.score(x), abs=0.02)


def test_student_t_learns_fat_tails_and_gaussian_does_not_on_gaussian_data():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(T, K))
    w = rng.normal(size=(N, K))
    heavy = (z @ w.T + 0.7 * rng.standard_t(df=3, size=(T, N))).astype(np.float32)
    net = _fit(heavy, "student_t", epochs=150)
    nu = net.degrees_of_freedom.detach().numpy()
    assert np.median(nu) < 6  # true noise df = 3
    # on fat-tailed data the Student-t bound beats the Gaussian one
    gauss = _fit(heavy, "diagonal", epochs=150)
    xt = torch.from_numpy(heavy)
    assert net.log_likelihood(xt, n_samples=20).mean() > gauss.log_likelihood(xt, n_samples=20).mean() + 0.1


def test_defaults_reproduce_the_plain_vae_bit_for_bit():
    x = np.random.default_rng(3).normal(size=(400, 6)).astype(np.float32)
    a, b = VAE(6, 2, [16, 8], seed=5), FactorVAE(6, 2, [16, 8], seed=5)
    for net in (a, b):
        AETrainer(seed=5, verbose=False, validation_split=0.2).fit(net, x, epochs=3)
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb and torch.equal(pa, pb)


def test_linear_skip_starts_linear_and_pca_init_reproduces_pca():
    x = _data(np.full(N, 0.5), seed=4)
    net = FactorVAE(N, K, [16], likelihood="isotropic", linear_skip=True, seed=0)
    net.init_from_pca(x)
    net.eval()
    xt = torch.from_numpy(x)
    mu, log_var = (t.detach().double().numpy() for t in net.encode(xt))
    recon = net.decode(net.latent_mean(xt)).detach().double().numpy()
    # probabilistic PCA's maximum likelihood (W = U(Λ − σ²)^½) with the encoder at its exact posterior
    pca = PCA(n_components=K).fit(x)
    s2 = pca.noise_variance_
    w = pca.components_.T * np.sqrt(pca.explained_variance_ - s2)
    m = w.T @ w + s2 * np.eye(K)
    post_mean = (x - pca.mean_) @ w @ np.linalg.inv(m)
    np.testing.assert_allclose(recon, post_mean @ w.T + pca.mean_, atol=1e-4)
    np.testing.assert_allclose(np.sort(np.exp(log_var[0])), np.sort(s2 / np.diag(m)), rtol=1e-4)
    np.testing.assert_allclose(np.cov(mu.T) + np.diag(np.exp(log_var[0])), np.eye(K), atol=0.05)
    assert float(torch.exp(net.log_noise.detach())) == pytest.approx(
        np.sort(np.linalg.eigvalsh(np.cov(x.T.astype(np.float64))))[: N - K].mean(), rel=1e-4)
    with pytest.raises(ValueError, match="init_from_pca needs linear_skip=True"):
        FactorVAE(N, K, [16]).init_from_pca(x)


def test_free_bits_floor_the_kl_in_the_loss_only():
    net = FactorVAE(4, 2, [8], free_bits=0.5, seed=0)
    torch.manual_seed(0)
    x = torch.randn(32, 4)
    terms = net.loss_terms(x)
    # at initialisation the posterior is close to the prior: each factor's KL is below the floor
    assert terms["kl_loss"].item() < 1.0
    assert terms["loss"].item() == pytest.approx(terms["recon_loss"].item() + 2 * 0.5, rel=1e-6)


def test_bad_options_are_typed_errors():
    with pytest.raises(ConfigError, match=r"FactorVAE: likelihood must be one of \['unit', 'isotropic', 'diagonal', "
                                          r"'student_t'\], got 'laplace'"):
        FactorVAE(4, 2, likelihood="laplace")
    with pytest.raises(ConfigError, match="FactorVAE: free_bits"):
        FactorVAE(4, 2, free_bits=-1.0)


def test_save_load_round_trip(tmp_path):
    net = FactorVAE(5, 2, [8], likelihood="student_t", linear_skip=True, free_bits=0.1, seed=0)
    net.save(tmp_path / "net")
    back = FactorVAE.load(tmp_path / "net")
    assert back.get_config() == net.get_config()
    x = torch.randn(7, 5)
    torch.testing.assert_close(back.log_likelihood(x, n_samples=5, seed=1), net.log_likelihood(x, n_samples=5, seed=1))
