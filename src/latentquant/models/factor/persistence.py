"""Reading factor models saved by latentquant 0.1.0 in the model's own layout (kept for one release).

``VAEFactorModel.save`` now writes the one estimator format of :mod:`latentquant.base` (``estimator.json`` +
``arrays.npz`` + ``weights.pt``). Directories written before hold::

    factor_model.json        parameters, asset names, scaler, latent moments, residual variances, loss history
    network/                 the VAE (config.json + weights.pt)
    train_factors.parquet    posterior means/stds and anomaly scores of the training dates
    train_residuals.parquet  standardised training residuals

:func:`read_legacy` turns such a directory into the parameters and fitted state of a ``VAEFactorModel``;
``VAEFactorModel.load`` calls it (with a ``FutureWarning``) when it finds ``factor_model.json`` and no
``estimator.json``. Nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant.data import Standardizer
from latentquant.exceptions import CheckpointError
from latentquant.models.autoencoder import VAE
from latentquant.models.factor.results import FactorEncoding
from latentquant.training import History

__all__ = ["LEGACY_STATE_FILE", "read_legacy"]

LEGACY_STATE_FILE = "factor_model.json"
_FACTORS_FILE = "train_factors.parquet"
_RESID_FILE = "train_residuals.parquet"


def read_legacy(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters and fitted state of a factor model saved in the 0.1.0 layout (see the module docstring).

    Parameters
    ----------
    path : str or pathlib.Path
        Directory written by ``VAEFactorModel.save`` of latentquant 0.1.0.

    Returns
    -------
    params : dict
        The model's hyperparameters (``VAEFactorModel(**params)``).
    state : dict
        Its fitted attributes (network, scaler, training encoding, residuals, history, ...).

    Raises
    ------
    CheckpointError
        A file is missing or unreadable.

    Examples
    --------
    ``VAEFactorModel.load`` calls it for old directories; a directory in the current layout is not one:

    >>> read_legacy("runs/not-a-model")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.CheckpointError: runs/not-a-model/factor_model.json is missing; pass the directory written \
by VAEFactorModel.save().
    """
    directory = Path(path)
    state_path = directory / LEGACY_STATE_FILE
    if not state_path.is_file():
        raise CheckpointError(f"{state_path} is missing; pass the directory written by VAEFactorModel.save().")
    try:
        saved = json.loads(state_path.read_text())
        params = dict(saved["params"])
        params["hidden_dims"] = tuple(params["hidden_dims"])
        columns = pd.Index(saved["columns"])
        factors = pd.read_parquet(directory / _FACTORS_FILE)
        resid = pd.read_parquet(directory / _RESID_FILE)
    except (json.JSONDecodeError, KeyError, TypeError, OSError, ValueError) as exc:
        raise CheckpointError(f"{directory} is not a readable VAEFactorModel ({type(exc).__name__}: {exc}).") \
            from exc
    vae = VAE.load(directory / "network")
    vae.eval()
    scaler = Standardizer()
    scaler.mean_ = pd.Series(saved["scaler_mean"], index=columns, dtype=np.float64)
    scaler.scale_ = pd.Series(saved["scaler_scale"], index=columns, dtype=np.float64)
    scaler.n_features_in_ = len(columns)
    scaler.feature_names_in_ = np.asarray(columns, dtype=object)
    names = [f"f{k + 1}" for k in range(int(params["n_factors"]))]
    encoding = FactorEncoding(
        factors[[f"mean_{k}" for k in names]].set_axis(names, axis=1),
        factors[[f"std_{k}" for k in names]].set_axis(names, axis=1),
    )
    resid.columns = columns
    state = {
        "vae_": vae, "columns_": columns, "n_features_in_": len(columns), "scaler_": scaler,
        "latent_mean_": np.asarray(saved["latent_mean"], dtype=np.float64),
        "latent_cov_": np.asarray(saved["latent_cov"], dtype=np.float64),
        "residual_var_": pd.Series(saved["residual_var"], index=columns, name="residual_var"),
        "history_": History.from_dict(saved["history"]),
        "train_factors_": encoding,
        "train_anomaly_scores_": factors["anomaly_score"].rename("anomaly_score"),
        "_train_residuals": resid,
        "kl_per_factor_": encoding.kl_per_factor(),
    }
    return params, state
