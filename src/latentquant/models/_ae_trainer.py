"""The trainer of the autoencoder family, :class:`AETrainer` (private module; public names for the sibling modules).

Import it from :mod:`latentquant.models.autoencoder`, which re-exports it.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from torch import nn

from latentquant.data.splits import tail_split
from latentquant.exceptions import ConfigError
from latentquant.models._ae_base import _BaseAutoencoder, kl_divergence
from latentquant.training import History, Trainer, TrainerConfig
from latentquant.validation import Interval, check_arg

__all__ = ["AETrainer"]


class AETrainer:
    """Fit autoencoders and VAEs with the shared :class:`~latentquant.training.Trainer`.

    The trainer detects a VAE and uses ``reconstruction + beta * KL``; other autoencoders use the reconstruction loss.
    Every option can be set here (defaults for all fits) or per call in :meth:`fit`.

    Parameters
    ----------
    beta : float
        Weight of the KL term (VAE only).
    batch_size, lr : int, float
        Mini-batch size and Adam learning rate.
    validation_split : float
        Share of rows **at the end** held out for validation (time order kept; never shuffled). ``0`` disables it.
    gap : int
        Rows skipped between training and validation rows.
    early_stopping : bool
        Stop after ``patience`` epochs without improvement of the validation loss and restore the best weights.
    patience : int
        Epochs without improvement before early stopping.
    seed : int or None
        Training seed (batch order, sampling noise): same seed and same initial weights → identical results on CPU.
    verbose : bool or None
        Progress bar on a terminal (``None``: only on a terminal; ``False``: silent).
    kl_warmup : int
        KL warm-up (VAE only): the KL weight on training batches rises linearly from ``beta / kl_warmup`` in the
        first epoch to ``beta`` at epoch ``kl_warmup`` and stays there; validation losses (and so early stopping)
        always use ``beta``. ``0`` disables it. A guard against posterior collapse early in training.
    **options
        Any other :class:`~latentquant.training.TrainerConfig` field (``weight_decay``, ``grad_clip``, ``device``,
        ``checkpoint_dir`` …).

    Attributes
    ----------
    history_ : History
        History of the last :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(200, 6))
    >>> from latentquant.models.autoencoder import VAE
    >>> vae = VAE(input_dim=6, latent_dim=2, seed=1)
    >>> trainer = AETrainer(beta=0.5, seed=1, verbose=False)
    >>> history = trainer.fit(vae, X, epochs=2)
    >>> len(history["val_loss"])
    2
    """

    def __init__(self, *, beta: float = 1.0, batch_size: int = 64, lr: float = 1e-3, validation_split: float = 0.2,
                 gap: int = 0, early_stopping: bool = True, patience: int = 10, seed: int | None = 0,
                 verbose: bool | None = None, kl_warmup: int = 0, **options: Any) -> None:
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.options: dict[str, Any] = dict(batch_size=batch_size, lr=lr, validation_split=validation_split,
                                            gap=gap, early_stopping=early_stopping, patience=patience, seed=seed,
                                            verbose=verbose, **options)
        check_arg("beta", beta, Interval(Real, 0, None), owner="AETrainer")
        check_arg("kl_warmup", kl_warmup, Interval(Integral, 0, None), owner="AETrainer")
        Trainer(**self.options)  # validate options now, not at the first fit

    @staticmethod
    def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                 beta: float = 1.0) -> torch.Tensor:
        """``(Σ (x - recon)² + beta · KL) / batch_size`` — the VAE objective used in training."""
        recon_loss = (recon - x).pow(2).sum()
        kl_loss = kl_divergence(mu, log_var).sum()
        return (recon_loss + beta * kl_loss) / x.shape[0]

    def fit(self, model: _BaseAutoencoder, X: Any, epochs: int | None = None, *, X_val: Any = None,
            beta: float | None = None, resume: bool = False, **overrides: Any) -> History:
        """Train ``model`` in place on the rows of ``X`` (time order) and return the per-epoch history.

        Parameters
        ----------
        model : Autoencoder, DenoisingAutoencoder or VAE
        X : array-like, shape (n_samples, input_dim)
            Training rows in time order (numpy, pandas or torch). The last ``validation_split`` share is held out
            unless ``X_val`` is given.
        epochs : int, optional
            Maximum number of epochs; default: the trainer's ``epochs`` option, else 100.
        X_val : array-like, optional
            Explicit validation rows.
        beta : float, optional
            Overrides the trainer's ``beta`` for this fit.
        resume : bool
            Resume from ``checkpoint_dir`` if a saved state exists.
        **overrides
            Per-call values of ``batch_size``, ``lr``, ``validation_split``, ``early_stopping``, ``seed``, ``verbose`` …

        Returns
        -------
        History
            ``train_loss``, ``val_loss``, ``train_recon_loss``, ``val_recon_loss`` (and ``*_kl_loss`` for a VAE),
            ``lr``.
        """
        if not isinstance(model, _BaseAutoencoder):
            raise ConfigError(
                f"model must be an Autoencoder, DenoisingAutoencoder or VAE, got {type(model).__name__}."
            )
        b = self.beta if beta is None else beta
        check_arg("beta", b, Interval(Real, 0, None), owner="AETrainer")
        options = {**self.options, **overrides}
        options["epochs"] = epochs if epochs is not None else options.get("epochs", 100)
        warmup = self.kl_warmup
        weight = [b]  # the KL weight of the current training epoch (the warm-up schedule sets it)

        def anneal(epoch: int) -> None:
            weight[0] = b * min(1.0, (epoch + 1) / warmup)

        trainer = Trainer(TrainerConfig(), on_epoch_start=anneal if warmup > 0 else None, **options)
        x = model._as_input(X, "X").cpu()
        x_val = model._as_input(X_val, "X_val").cpu() if X_val is not None else None

        def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            return model.loss_terms(batch[0], beta=weight[0] if m.training else b)

        home = model.device
        try:
            history = trainer.fit(model, loss_fn, (x,), None if x_val is None else (x_val,), resume=resume)
        finally:
            # training may run on CUDA; the model comes back on the device it was given on, so that code feeding it
            # CPU tensors (torch.FloatTensor(x)) keeps working
            model.to(home)
        cfg = trainer.config
        train_rows = x
        if x_val is None and cfg.validation_split > 0:
            train_rows = x[tail_split(x.shape[0], cfg.validation_split, gap=cfg.gap)[0]]
        self._set_observation_noise(model, train_rows)
        self.history_ = history
        return history

    @staticmethod
    @torch.no_grad()
    def _set_observation_noise(model: _BaseAutoencoder, x: torch.Tensor) -> None:
        model.eval()
        x = x.to(model.device)
        residual = x - model.decode(model.latent_mean(x))
        model.obs_std.copy_(residual.pow(2).mean(dim=0).sqrt())

    @staticmethod
    @torch.no_grad()
    def extract_features(model: _BaseAutoencoder, X: Any, batch_size: int = 8192) -> np.ndarray:
        """Latent features of each row: the posterior mean ``μ(x)`` for a VAE, ``z`` for an autoencoder.

        Returns
        -------
        numpy.ndarray, shape (n_samples, latent_dim)
        """
        was_training = model.training
        model.eval()
        x = model._as_input(X)
        out = torch.cat([model.latent_mean(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])
        model.train(was_training)
        return out.cpu().numpy()
