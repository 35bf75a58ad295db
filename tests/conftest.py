"""Shared fixtures: simulated factor data with known truth."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(2)


def simulate_factor_data(n_rows: int = 2000, n_assets: int = 20, n_factors: int = 3, noise: float = 0.3,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x_t = B f_t + e_t with f ~ N(0, diag(3², 2², 1.5²)...) and e ~ N(0, noise²); returns (X, F, B)."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 1.5, n_factors)
    F = rng.normal(size=(n_rows, n_factors)) * scales
    B = rng.normal(size=(n_assets, n_factors))
    X = F @ B.T + noise * rng.normal(size=(n_rows, n_assets))
    return X.astype(np.float64), F, B


@pytest.fixture
def factor_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_factor_data()
