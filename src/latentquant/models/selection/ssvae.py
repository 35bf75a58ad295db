r"""Semi-supervised variational autoencoder (Kingma, Rezende, Mohamed & Welling 2014, model M2).

Generative model :math:`p(y)=\mathrm{Cat}(1/K)`, :math:`p(z)=\mathcal N(0,I)`,
:math:`p_\theta(x\mid y,z)=\mathcal N(\hat x(y,z), \tfrac12 I)` (so :math:`-\log p` is the summed squared error up to a
constant — a Gaussian likelihood suited to continuous, standardised inputs; ``likelihood='bernoulli'`` uses
:math:`p(x_j=1)=\sigma(\text{decoder})` on raw inputs in [0, 1] instead, as the paper does for MNIST).
Inference networks :math:`q_\phi(y\mid x)` (the classifier) and
:math:`q_\phi(z\mid x,y)=\mathcal N(\mu,\operatorname{diag}\sigma^2)`.

Per row, with :math:`-\mathcal L(x,y)=\lVert x-\hat x\rVert^2+\mathrm{KL}(q(z\mid x,y)\Vert p(z))-\log p(y)`:

* labelled :math:`(x,y)`: :math:`-\mathcal L(x,y) + \alpha\,\tfrac{N}{N_l}\,(-\log q(y\mid x))`;
* unlabelled :math:`x`: :math:`-\mathcal U(x)=\sum_y q(y\mid x)\,(-\mathcal L(x,y)) - \mathcal H(q(y\mid x))`.

The training loss is the batch mean of these per-row terms, i.e. the paper's objective
:math:`\mathcal J^\alpha=\sum_l\mathcal L+\sum_u\mathcal U+\alpha N\,\mathbb E_{\tilde p_l}[-\log q(y\mid x)]`
divided by the number of rows :math:`N`: the classification term is weighted by :math:`\alpha N` as in the paper
(``alpha=0.1``), which per labelled row is :math:`\alpha N/N_l`. Labelled and unlabelled rows are mixed in every
batch; the shared :class:`~latentquant.training.Trainer` fits the model.

References
----------
Kingma, D. P., Rezende, D. J., Mohamed, S. & Welling, M. (2014). Semi-supervised Learning with Deep Generative
Models. NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.models.autoencoder import kl_divergence
from latentquant.nn import mlp
from latentquant.training import Trainer, to_tensor
from latentquant.training.trainer import resolve_device

__all__ = ["SemiSupervisedVAE"]


class _M2(nn.Module):
    """Networks of model M2: classifier ``q(y|x)``, encoder ``q(z|x,y)``, decoder ``p(x|y,z)``."""

    def __init__(self, input_dim: int, n_classes: int, latent_dim: int, hidden: Sequence[int],
                 bernoulli: bool = False) -> None:
        super().__init__()
        self.input_dim, self.n_classes, self.latent_dim = input_dim, n_classes, latent_dim
        self.bernoulli = bernoulli
        h = list(hidden)
        self.classifier = mlp([input_dim, *h, n_classes])
        self.encoder = mlp([input_dim + n_classes, *h], activate_last=bool(h))
        width = h[-1] if h else input_dim + n_classes
        self.fc_mu = nn.Linear(width, latent_dim)
        self.fc_log_var = nn.Linear(width, latent_dim)
        self.decoder = mlp([latent_dim + n_classes, *reversed(h), input_dim])

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def encode(self, x: torch.Tensor, y_onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hid = self.encoder(torch.cat([x, y_onehot], dim=1))
        return self.fc_mu(hid), self.fc_log_var(hid)

    def neg_elbo_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``-L(x, y)`` for every class ``y``: returns ``(neg_elbo (n, K), recon (n, K), kl (n, K))``."""
        n, k = x.shape[0], self.n_classes
        xr = x.repeat(k, 1)  # block j holds every row with class j
        yr = torch.eye(k, device=x.device, dtype=x.dtype).repeat_interleave(n, dim=0)
        mu, log_var = self.encode(xr, yr)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        out = self.decoder(torch.cat([z, yr], dim=1))
        if self.bernoulli:  # decoder outputs logits of p(x_j = 1)
            recon = F.binary_cross_entropy_with_logits(out, xr, reduction="none").sum(dim=1)
        else:
            recon = (out - xr).pow(2).sum(dim=1)
        kl = kl_divergence(mu, log_var)
        neg = recon + kl + math.log(k)  # -log p(y) = log K under the uniform prior
        return neg.view(k, n).T, recon.view(k, n).T, kl.view(k, n).T


class SemiSupervisedVAE:
    r"""Semi-supervised VAE classifier (model M2 of Kingma et al. 2014), scikit-learn style.

    Parameters
    ----------
    n_classes : int, optional
        Number of classes; labels must then be the integers ``0 … n_classes-1`` and each needs at least one labelled
        row. ``None``: the classes are the distinct labelled values of ``y``.
    latent_dim : int
        Size of the continuous latent ``z``.
    hidden : sequence of int
        Hidden widths of each network (classifier, encoder; the decoder mirrors them).
    alpha : float
        Weight of the classification loss, multiplied by the number of training rows ``N`` as in the paper
        (:math:`\alpha N`; per labelled row in the batch-mean loss, :math:`\alpha N/N_l`).
    epochs, batch_size, lr, validation_split, patience, seed, device, verbose
        Passed to :class:`~latentquant.training.Trainer`. ``validation_split`` holds out the *last* rows (library
        convention: time order); with ``0`` (default) there is no early stopping and all ``epochs`` run.
        ``seed`` also seeds the initial weights: same seed → identical predictions on CPU.

    Attributes
    ----------
    classes_ : numpy.ndarray
        Class labels, in the order of the columns of :meth:`predict_proba`.
    mean_, scale_ : numpy.ndarray
        Standardisation statistics, computed from all rows of ``X`` passed to :meth:`fit` (labelled and
        unlabelled; both are training rows — never pass test rows as unlabelled data). Constant features get scale 1.
    history_ : History
        Per-epoch losses of the last fit.

    Notes
    -----
    ``y`` marks unlabelled rows with ``-1`` or ``NaN`` (treated identically), so ``-1`` cannot be a class label.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-2, 1, (100, 2)), rng.normal(2, 1, (100, 2))]
    >>> y = np.full(200, -1.0); y[:5] = 0; y[100:105] = 1
    >>> clf = SemiSupervisedVAE(latent_dim=2, hidden=(16,), epochs=5, verbose=False).fit(X, y)
    >>> clf.predict_proba(X).shape
    (200, 2)
    """

    def __init__(self, n_classes: int | None = None, latent_dim: int = 16, hidden: Sequence[int] = (128,),
                 alpha: float = 0.1, epochs: int = 100, batch_size: int = 64, lr: float = 1e-3,
                 validation_split: float = 0.0, patience: int = 10, seed: int | None = 0, device: str = "cpu",
                 verbose: bool | None = False, likelihood: str = "gaussian") -> None:
        self.likelihood = likelihood
        self.n_classes = n_classes
        self.latent_dim = latent_dim
        self.hidden = tuple(hidden)
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_split = validation_split
        self.patience = patience
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ validation helpers
    def _check_params(self) -> None:
        if self.n_classes is not None and (isinstance(self.n_classes, bool)
                                           or not isinstance(self.n_classes, (int, np.integer))
                                           or self.n_classes < 2):
            raise ConfigError(f"n_classes must be None or an integer >= 2, got {self.n_classes!r}.")
        if isinstance(self.latent_dim, bool) or not isinstance(self.latent_dim, (int, np.integer)) \
                or self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be a positive integer, got {self.latent_dim!r}.")
        if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden):
            raise ConfigError(f"hidden must be positive integers, got {list(self.hidden)}.")
        if self.likelihood not in ("gaussian", "bernoulli"):
            raise ConfigError(f"likelihood must be 'gaussian' or 'bernoulli', got {self.likelihood!r}.")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not math.isfinite(self.alpha) \
                or self.alpha < 0:
            raise ConfigError(f"alpha must be a finite number >= 0, got {self.alpha!r}.")

    def _encode_labels(self, y: Any, n: int) -> np.ndarray:
        """Class index per row, ``-1`` for unlabelled rows (``y == -1`` or NaN)."""
        try:
            arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"y must be numeric labels with -1 or NaN for unlabelled rows ({exc}).") from exc
        if arr.shape[0] != n:
            raise DataValidationError(f"X has {n} rows but y has {arr.shape[0]}; they must be row-aligned.")
        if np.isinf(arr).any():
            raise DataValidationError("y has an infinite value; use -1 or NaN for unlabelled rows.")
        labelled = ~(np.isnan(arr) | (arr == -1))
        if not labelled.any():
            raise DataValidationError("y has no labelled row (all are -1 or NaN); label at least one row per class.")
        values = arr[labelled]
        if self.n_classes is None:
            classes = np.unique(values)
            if classes.size < 2:
                raise DataValidationError(f"y has labelled rows of a single class {classes.tolist()}; need >= 2.")
        else:
            classes = np.arange(int(self.n_classes), dtype=np.float64)
            bad = ~np.isin(values, classes)
            if bad.any():
                raise DataValidationError(
                    f"y has label {values[bad][0]!r} outside 0..{int(self.n_classes) - 1} (n_classes="
                    f"{self.n_classes}); use -1 or NaN for unlabelled rows."
                )
            missing = classes[~np.isin(classes, values)]
            if missing.size:
                raise DataValidationError(
                    f"class {int(missing[0])} has no labelled row (n_classes={self.n_classes}); label at least "
                    "one row per class."
                )
        self.classes_ = classes.astype(np.int64) if np.all(classes == np.round(classes)) else classes
        idx = np.full(n, -1, dtype=np.int64)
        idx[labelled] = np.searchsorted(classes, values)
        return idx

    def _check_fitted(self) -> _M2:
        model = getattr(self, "model_", None)
        if model is None:
            raise NotFittedError("This SemiSupervisedVAE is not fitted yet; call fit(X, y) first.")
        return model

    def _prepare(self, X: Any) -> torch.Tensor:
        model = self._check_fitted()
        x = to_tensor(X, name="X")
        if x.ndim != 2 or x.shape[1] != model.input_dim:
            raise DataValidationError(
                f"X must have shape (n_samples, {model.input_dim}) as in fit, got {tuple(x.shape)}."
            )
        x = (x - torch.from_numpy(self.mean_)) / torch.from_numpy(self.scale_)
        return x.to(next(model.parameters()).device)

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, y: Any) -> SemiSupervisedVAE:
        """Fit on rows ``X`` with labels ``y`` (``-1`` or ``NaN`` = unlabelled). Returns ``self``."""
        self._check_params()
        x = to_tensor(X, name="X")
        if x.ndim != 2:
            raise DataValidationError(f"X must be 2-D (n_samples, n_features), got shape {tuple(x.shape)}.")
        labels = self._encode_labels(y, x.shape[0])
        xn = x.numpy()
        if self.likelihood == "bernoulli":
            if xn.min() < 0 or xn.max() > 1:
                raise DataValidationError("likelihood='bernoulli' needs X in [0, 1] (e.g. pixel intensities / 16); "
                                          f"got values in [{xn.min():g}, {xn.max():g}].")
            self.mean_ = np.zeros(xn.shape[1], np.float32)  # the Bernoulli targets are the raw values
            self.scale_ = np.ones(xn.shape[1], np.float32)
        else:
            self.mean_ = xn.mean(axis=0).astype(np.float32)
            scale = xn.std(axis=0)
            self.scale_ = np.where(scale > 1e-8, scale, 1.0).astype(np.float32)
        x = (x - torch.from_numpy(self.mean_)) / torch.from_numpy(self.scale_)

        n, d = x.shape
        k = len(self.classes_)
        with torch.random.fork_rng(enabled=self.seed is not None):
            if self.seed is not None:
                torch.manual_seed(self.seed)
            model = _M2(d, k, int(self.latent_dim), [int(h) for h in self.hidden],
                        bernoulli=self.likelihood == "bernoulli")
        n_labelled = int((labels >= 0).sum())
        ce_weight = float(self.alpha) * n / n_labelled  # alpha * N in the paper's J, per labelled row after / N

        def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            assert isinstance(m, _M2)
            xb, yb = batch[0], batch[1].long()
            is_lab = yb >= 0
            neg_elbo, recon, kl = m.neg_elbo_all(xb)
            logits = m.logits(xb)
            log_q = F.log_softmax(logits, dim=1)
            q = log_q.exp()
            y_safe = yb.clamp(min=0).unsqueeze(1)
            lab_term = neg_elbo.gather(1, y_safe).squeeze(1)
            ce = -log_q.gather(1, y_safe).squeeze(1)
            entropy = -(q * log_q).sum(dim=1)
            unl_term = (q * neg_elbo).sum(dim=1) - entropy
            lab = is_lab.to(xb.dtype)
            per_row = lab * (lab_term + ce_weight * ce) + (1 - lab) * unl_term
            n_lab = lab.sum().clamp(min=1.0)
            w = torch.where(is_lab.unsqueeze(1), F.one_hot(yb.clamp(min=0), m.n_classes).to(xb.dtype), q)
            return {
                "loss": per_row.mean(),
                "neg_elbo": (w * neg_elbo).sum(dim=1).mean(),
                "recon": (w * recon).sum(dim=1).mean(),
                "kl": (w * kl).sum(dim=1).mean(),
                "cross_entropy": (lab * ce).sum() / n_lab,
            }

        trainer = Trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                          validation_split=self.validation_split, early_stopping=self.validation_split > 0,
                          patience=self.patience, seed=self.seed, device=self.device, verbose=self.verbose)
        y_t = torch.from_numpy(labels.astype(np.float32))
        self.history_ = trainer.fit(model, loss_fn, (x, y_t))
        model.eval()
        self.model_ = model
        self.device_ = resolve_device(self.device)
        return self

    @torch.no_grad()
    def predict_proba(self, X: Any) -> np.ndarray:
        """:math:`q(y\\mid x)`, shape ``(n_samples, n_classes)``, columns ordered as ``classes_``."""
        x = self._prepare(X)
        return torch.softmax(self.model_.logits(x), dim=1).cpu().numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class under :math:`q(y\\mid x)`."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_)[proba.argmax(axis=1)]

    @torch.no_grad()
    def transform(self, X: Any) -> np.ndarray:
        """Latent features: posterior mean :math:`\\mu(x, \\hat y)` of :math:`q(z\\mid x, y)` at the predicted class
        :math:`\\hat y=\\arg\\max_y q(y\\mid x)`, shape ``(n_samples, latent_dim)`` (append :meth:`predict_proba`
        for the full ``(y, z)`` representation)."""
        x = self._prepare(X)
        y_hat = self.model_.logits(x).argmax(dim=1)
        mu, _ = self.model_.encode(x, F.one_hot(y_hat, self.model_.n_classes).to(x.dtype))
        return mu.cpu().numpy()

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of :meth:`predict` on labelled rows ``(X, y)``."""
        pred = self.predict(X)
        truth = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).reshape(-1)
        if truth.shape[0] != pred.shape[0]:
            raise DataValidationError(f"X has {pred.shape[0]} rows but y has {truth.shape[0]}.")
        return float(np.mean(pred == truth))
