"""The MLP regressor of next-day returns: the baseline of the feature-selection study (REFERENCE §5)."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import ClassVar

from torch import nn

from latentquant.models.selection._networks import MLPRegressorNet
from latentquant.models.selection._neural import ACTIVATION, WIDTHS, NeuralRegressor
from latentquant.validation import Constraint, Interval

__all__ = ["MLPRegressor"]


class MLPRegressor(NeuralRegressor):
    """Multilayer-perceptron regressor of next-day returns: the baseline of the feature-selection study.

    Parameters
    ----------
    hidden_dims : sequence of int
        Hidden widths; the default ``(2,)`` is the study's one hidden layer of 2 units (``()`` gives a linear model).
    activation : str
        Hidden activation (``'relu'``, ``'tanh'``, …).
    dropout : float
        Dropout after each hidden layer, in [0, 1).
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam optimisation by the shared :class:`~latentquant.training.Trainer`.
    patience : int
        Early-stopping patience (only with ``X_val``/``y_val`` in :meth:`fit`).
    seed : int or None
        Seeds the initial weights and training: same seed → identical predictions on CPU.
    device : str
        ``'cpu'``, ``'cuda'`` or ``'auto'``; outputs are pandas objects on the CPU.
    verbose : bool or None
        Progress output of the trainer.
    warm_start : bool
        Continue from the fitted weights and scalers in the next :meth:`fit` (fine-tuning).

    Attributes
    ----------
    model_ : torch.nn.Module
        The network (standardised inputs, standardised output).
    mean_, scale_ : numpy.ndarray
        Per-feature standardisation statistics of the training rows (constant features get scale 1).
    y_mean_, y_scale_ : float
        Mean and standard deviation of the training targets.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
        Column names, when ``X`` was a DataFrame.
    history_ : History
        Per-epoch losses of the last fit (``train_loss``, ``val_loss`` with validation data).
    best_epoch_ : int or None
        Epoch whose weights were kept (``None`` without validation data: the last epoch's weights).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = 0.01 * X[:, 0]
    >>> model = MLPRegressor(epochs=5).fit(X, y)
    >>> model.predict(X[:4]).shape
    (4,)
    >>> import tempfile
    >>> path = model.save(tempfile.mkdtemp() + "/mlp")                # JSON + arrays + weights, no pickle
    >>> MLPRegressor.load(path).predict(X[:4]).equals(model.predict(X[:4]))
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "hidden_dims": WIDTHS, "activation": ACTIVATION, "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    _renamed_params: ClassVar[dict[str, str]] = {"hidden": "hidden_dims"}

    def __init__(self, hidden_dims: Sequence[int] = (2,), *, activation: str = "relu", dropout: float = 0.0,
                 epochs: int = 200, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 patience: int = 20, seed: int | None = 0, device: str = "auto", verbose: bool | None = False,
                 warm_start: bool = False) -> None:
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _build_network(self, n_features: int) -> nn.Module:
        return MLPRegressorNet(n_features, [int(h) for h in self.hidden_dims], self.activation, float(self.dropout))
