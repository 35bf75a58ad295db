"""Explained variance of a reconstruction, and the linear benchmarks a factor model's explained variance is judged
against: PCA and a linear autoencoder, each fitted on the training rows only."""

from __future__ import annotations

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, check_arg

__all__ = ["LikelihoodBenchmark", "ReconstructionBenchmark", "likelihood_benchmark", "linear_autoencoder_benchmark",
           "pca_benchmark", "reconstruction_r2"]


def reconstruction_r2(X: pd.DataFrame | np.ndarray, X_hat: pd.DataFrame | np.ndarray,
                      center: pd.Series | np.ndarray | float = 0.0) -> tuple[float, np.ndarray]:
    r"""Share of variance explained by a reconstruction, pooled and per column.

    .. math::

        R^2 = 1 - \frac{\sum_{t,i} (x_{t,i} - \hat x_{t,i})^2}{\sum_{t,i} (x_{t,i} - c_i)^2}

    ``center`` is the benchmark prediction ``c``: pass the *training* mean (0 for data standardised on the training
    span) so that an out-of-sample R² is not flattered by the test-span mean.

    Parameters
    ----------
    X : pandas.DataFrame or numpy.ndarray
        Observed values, rows × columns.
    X_hat : pandas.DataFrame or numpy.ndarray
        Reconstruction, same shape.
    center : pandas.Series, numpy.ndarray or float, default 0.0
        Benchmark prediction of each column.

    Returns
    -------
    total : float
        Pooled R² over all cells.
    per_column : numpy.ndarray
        R² of each column.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [-1.0, -2.0]])
    >>> reconstruction_r2(x, 0.5 * x)[0]
    0.75
    """
    a = np.asarray(X, dtype=np.float64)
    b = np.asarray(X_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise DataValidationError(f"X has shape {a.shape} but X_hat has shape {b.shape}; they must match.")
    c = np.broadcast_to(np.asarray(center, dtype=np.float64), a.shape[1:] if a.ndim > 1 else ())
    sse = ((a - b) ** 2).sum(axis=0)
    sst = ((a - c) ** 2).sum(axis=0)
    if not np.all(sst > 0):
        raise DataValidationError("X has a column equal to its centre everywhere; R² is undefined for it.")
    return float(1.0 - sse.sum() / sst.sum()), 1.0 - sse / sst


class ReconstructionBenchmark(NamedTuple):
    """Explained variance of a benchmark fitted on training rows: pooled R² on the training and test rows and the
    test R² of each column (see :func:`reconstruction_r2`, benchmark prediction 0).

    Attributes
    ----------
    train_r2, test_r2 : float
        Pooled R² on the training and on the test rows.
    test_r2_per_column : numpy.ndarray
        Test R² of each column.

    Examples
    --------
    Data of rank one are reconstructed exactly by one principal component:

    >>> x = np.outer(np.random.default_rng(0).normal(size=100), [1.0, 2.0])
    >>> bench = pca_benchmark(x[:80], x[80:], n_components=1)
    >>> round(bench.train_r2, 10), round(bench.test_r2, 10), bench.test_r2_per_column.round(10).tolist()
    (1.0, 1.0, [1.0, 1.0])
    """

    train_r2: float
    test_r2: float
    test_r2_per_column: np.ndarray


def _values(x: pd.DataFrame | np.ndarray) -> np.ndarray:
    return x.to_numpy() if isinstance(x, pd.DataFrame) else np.asarray(x)


def pca_benchmark(train: pd.DataFrame | np.ndarray, test: pd.DataFrame | np.ndarray,
                  n_components: int) -> ReconstructionBenchmark:
    """Explained variance of the ``n_components`` principal components of the training rows.

    PCA (scikit-learn, centred on the training mean) is fitted on ``train`` only; both spans are projected on its
    components and reconstructed, and scored with :func:`reconstruction_r2` against 0 — pass data standardised on
    the training span, so 0 is the training mean.

    Parameters
    ----------
    train, test : pandas.DataFrame or numpy.ndarray
        Rows × variables (e.g. dates × assets), same columns.
    n_components : int
        Number of components.

    Returns
    -------
    ReconstructionBenchmark

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 1)) @ np.ones((1, 4)) + 0.1 * rng.normal(size=(400, 4))
    >>> bench = pca_benchmark(x[:300], x[300:], 1)
    >>> bool(bench.test_r2 > 0.95), bench.test_r2_per_column.shape
    (True, (4,))
    """
    check_arg("n_components", n_components, Interval(Integral, 1, None))
    x_train, x_test = _values(train), _values(test)
    pca = PCA(n_components=n_components).fit(x_train)
    train_r2, _ = reconstruction_r2(train, pca.inverse_transform(pca.transform(x_train)))
    test_r2, per_column = reconstruction_r2(test, pca.inverse_transform(pca.transform(x_test)))
    return ReconstructionBenchmark(train_r2, test_r2, per_column)


def linear_autoencoder_benchmark(train: pd.DataFrame | np.ndarray, test: pd.DataFrame | np.ndarray,
                                 n_components: int, *, seed: int | None = 0, epochs: int = 300,
                                 batch_size: int = 128, lr: float = 1e-3, validation_split: float = 0.2,
                                 patience: int = 20) -> ReconstructionBenchmark:
    """Explained variance of a linear autoencoder with an ``n_components`` bottleneck trained on the training rows.

    The network (:class:`~latentquant.models.Autoencoder`, no hidden layer, identity activation) is trained by
    :class:`~latentquant.models.AETrainer` with early stopping on the last ``validation_split`` of ``train``; at its
    optimum it spans the principal subspace, so the gap to :func:`pca_benchmark` measures the optimisation. Scored
    with :func:`reconstruction_r2` against 0, like :func:`pca_benchmark`.

    Parameters
    ----------
    train, test : pandas.DataFrame or numpy.ndarray
        Rows × variables, same columns, standardised on the training span.
    n_components : int
        Width of the bottleneck.
    seed : int or None
        Seed of the initial weights and of training.
    epochs, batch_size, lr, validation_split, patience
        Options of :class:`~latentquant.models.AETrainer`.

    Returns
    -------
    ReconstructionBenchmark

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 1)) @ np.ones((1, 4)) + 0.1 * rng.normal(size=(400, 4))
    >>> bench = linear_autoencoder_benchmark(x[:300], x[300:], 1, epochs=200, lr=1e-2)
    >>> bool(bench.test_r2 > 0.9)
    True
    """
    from latentquant.models.autoencoder import AETrainer, Autoencoder

    check_arg("n_components", n_components, Interval(Integral, 1, None))
    check_arg("validation_split", validation_split, Interval(Real, 0, 1, closed="left"))
    x_train, x_test = _values(train), _values(test)
    ae = Autoencoder(x_train.shape[1], n_components, hidden_dims=[], activation="identity", seed=seed)
    trainer = AETrainer(batch_size=batch_size, lr=lr, validation_split=validation_split, patience=patience,
                        seed=seed, verbose=False)
    trainer.fit(ae, x_train.astype(np.float32), epochs=epochs)
    train_r2, _ = reconstruction_r2(train, ae.reconstruct(x_train.astype(np.float32)))
    test_r2, per_column = reconstruction_r2(test, ae.reconstruct(x_test.astype(np.float32)))
    return ReconstructionBenchmark(train_r2, test_r2, per_column)


class LikelihoodBenchmark(NamedTuple):
    """Mean log-likelihood per row (nats) of the linear Gaussian factor models, fitted on the training rows.

    Attributes
    ----------
    ppca_train, ppca_test : float
        Probabilistic PCA (isotropic noise; scikit-learn ``PCA.score``).
    fa_train, fa_test : float
        Factor analysis (one noise variance per variable; scikit-learn ``FactorAnalysis.score``).

    Examples
    --------
    >>> x = np.random.default_rng(1).normal(size=(300, 3))
    >>> bench = likelihood_benchmark(x[:200], x[200:], 1)
    >>> round(bench.ppca_train, 1)  # three independent N(0, 1) variables: about -3 × 1.42 nats per row
    -4.1
    """

    ppca_train: float
    ppca_test: float
    fa_train: float
    fa_test: float


def likelihood_benchmark(train: pd.DataFrame | np.ndarray, test: pd.DataFrame | np.ndarray,
                         n_components: int, *, seed: int | None = 0) -> LikelihoodBenchmark:
    """Held-out log-likelihood of probabilistic PCA and factor analysis with ``n_components`` factors.

    Both are maximum-likelihood fits on ``train`` (scikit-learn, centred on the training mean) and scored on both
    spans as the mean log-density per row in nats: the baselines of
    :meth:`~latentquant.models.VAEFactorModel.log_likelihood` (pass the same standardised rows).

    Parameters
    ----------
    train, test : pandas.DataFrame or numpy.ndarray
        Rows × variables, same columns.
    n_components : int
        Number of factors, smaller than the number of variables.
    seed : int or None, default 0
        Seed of factor analysis' randomised SVD.

    Returns
    -------
    LikelihoodBenchmark

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 1)) @ np.ones((1, 4)) + rng.normal(size=(500, 4)) * [0.1, 0.2, 0.4, 0.8]
    >>> bench = likelihood_benchmark(x[:400], x[400:], 1)
    >>> bool(bench.fa_test > bench.ppca_test)  # the noise differs across variables: FA fits it, pPCA cannot
    True
    """
    from sklearn.decomposition import FactorAnalysis

    check_arg("n_components", n_components, Interval(Integral, 1, None))
    x_train, x_test = _values(train), _values(test)
    if n_components >= x_train.shape[1]:
        raise DataValidationError(f"n_components={n_components} must be smaller than the number of variables "
                                  f"({x_train.shape[1]}).")
    ppca = PCA(n_components=n_components).fit(x_train)
    fa = FactorAnalysis(n_components=n_components, random_state=seed).fit(x_train)
    return LikelihoodBenchmark(float(ppca.score(x_train)), float(ppca.score(x_test)),
                               float(fa.score(x_train)), float(fa.score(x_test)))
