r"""A VAE factor model of asset returns — the nonlinear generalisation of :math:`x = Bf + e`.

The classical linear factor model explains a vector of returns :math:`x\in\mathbb R^N` by :math:`K \ll N` factors,
:math:`x = Bf + e`. :class:`VAEFactorModel` replaces both maps by networks:

* the **encoder** gives each date's factors *with uncertainty*, :math:`q_\phi(z\mid x)=\mathcal N(\mu_\phi(x),
  \operatorname{diag}\sigma^2_\phi(x))` (columns ``f1..fK``);
* the **decoder** :math:`\hat x = f_\theta(z)` is a nonlinear loading function; its Jacobian
  :math:`B(z)=\partial\hat x/\partial z` (``N × K``) is the local loading matrix;
* the **reconstruction error** :math:`x-\hat x` is the idiosyncratic part.

Returns are modelled as daily log returns standardised per asset with the mean and standard deviation of the
training span (kept, so every output is mapped back to the original units). With a linear encoder and decoder
(``hidden_dims=()``) and :math:`\beta\to0` the model spans the same subspace as PCA; the KL term of a VAE
(:math:`\beta>0`) in addition pushes the factors towards independent, unit-variance coordinates.

What the fitted model gives
---------------------------
* :meth:`~VAEFactorModel.encode` / :meth:`~VAEFactorModel.decode` / :meth:`~VAEFactorModel.reconstruct`;
* :meth:`~VAEFactorModel.factor_loadings` — the exact Jacobian by automatic differentiation, or central finite
  differences (``method='finite_difference'``), averaged over dates or at one latent point;
* :meth:`~VAEFactorModel.generate_scenarios` — prior, stressed (the latent distribution of a named period),
  conditional (some factors fixed) and interpolated (one date's state to another's) scenarios;
* :meth:`~VAEFactorModel.risk_decomposition` — portfolio variance split into factor and idiosyncratic parts with
  Euler contributions per factor and per asset (linearised through the Jacobian, or Monte Carlo through the decoder);
* :meth:`~VAEFactorModel.anomaly_scores`, :meth:`~VAEFactorModel.score` (out-of-sample explained variance) and
  :meth:`~VAEFactorModel.traverse` (latent traversals).

Layout
------
* :mod:`~latentquant.models.factor.estimator` — :class:`VAEFactorModel`;
* :mod:`~latentquant.models.factor.scenarios` — the latent draws of each scenario mode;
* :mod:`~latentquant.models.factor.risk` — linear (Euler) and Monte Carlo variance decompositions;
* :mod:`~latentquant.models.factor.results` — :class:`FactorEncoding` and the immutable :class:`RiskDecomposition`;
* :mod:`~latentquant.models.factor.persistence` — reading models saved in the 0.1.0 layout.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from latentquant.models.factor import VAEFactorModel
>>> rng = np.random.default_rng(0)
>>> r = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 5)) * 0.01 + 0.002 * rng.normal(size=(300, 5))
>>> returns = pd.DataFrame(r, index=pd.bdate_range("2020-01-01", periods=300), columns=list("ABCDE"))
>>> model = VAEFactorModel(n_factors=2, hidden_dims=(8,), epochs=5, verbose=False).fit(returns)
>>> model.encode(returns).mean.shape
(300, 2)

References
----------
Kingma, D. P. & Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.
Higgins, I. et al. (2017). β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework. ICLR.
Tasche, D. (2008). Capital allocation to business units and sub-portfolios: the Euler principle. arXiv:0708.2542.
"""

from latentquant.models.factor.estimator import VAEFactorModel
from latentquant.models.factor.results import FactorEncoding, RiskDecomposition

__all__ = ["FactorEncoding", "RiskDecomposition", "VAEFactorModel"]
