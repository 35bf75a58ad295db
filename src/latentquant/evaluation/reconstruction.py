"""Explained variance of a reconstruction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError

__all__ = ["reconstruction_r2"]


def reconstruction_r2(X: pd.DataFrame | np.ndarray, X_hat: pd.DataFrame | np.ndarray,
                      center: pd.Series | np.ndarray | float = 0.0) -> tuple[float, np.ndarray]:
    r"""Share of variance explained by a reconstruction, pooled and per column.

    .. math::

        R^2 = 1 - \frac{\sum_{t,i} (x_{t,i} - \hat x_{t,i})^2}{\sum_{t,i} (x_{t,i} - c_i)^2}

    ``center`` is the benchmark prediction ``c``: pass the *training* mean (0 for data standardised on the training
    span) so that an out-of-sample R² is not flattered by the test-span mean.

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
