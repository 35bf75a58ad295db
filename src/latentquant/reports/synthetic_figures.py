"""Figures of the synthetic-data reports: return distributions on a log scale and 2-D overlays of real and synthetic
windows (PCA and t-SNE). Line plots (ACFs, leverage) use :func:`latentquant.reports.figures.plot_lines`."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__ = ["embed_windows", "plot_embedding_overlay", "plot_return_densities"]


def plot_return_densities(samples: Mapping[str, np.ndarray], *, bins: int = 80, xlabel: str = "return",
                          title: str = "") -> Figure:
    """Histogram densities of several return samples on one axis with a logarithmic y-axis, so the tails show.

    Parameters
    ----------
    samples : mapping of str to array-like
        Label → 1-D sample (any shape is flattened); the first is drawn as the reference (black).
    bins : int
        Bins over the pooled range (the 0.01%–99.99% quantiles, so one outlier does not squash the rest).
    xlabel, title : str
        Labels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_return_densities({"real": rng.standard_t(3, 5000), "Gaussian": rng.normal(size=5000)})
    >>> fig.axes[0].get_yscale()
    'log'
    """
    flat = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in samples.items()}
    pooled = np.concatenate(list(flat.values()))
    lo, hi = np.quantile(pooled, [1e-4, 1 - 1e-4])
    edges = np.linspace(lo, hi, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, (label, x) in enumerate(flat.items()):
        density, _ = np.histogram(x, bins=edges, density=True)
        shown = np.where(density > 0, density, np.nan)
        ax.plot(centres, shown, label=label, color="black" if i == 0 else None, lw=2.0 if i == 0 else 1.2)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density (log scale)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def embed_windows(real: np.ndarray, others: Mapping[str, np.ndarray], *, method: str = "pca", max_points: int = 600,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """2-D coordinates of flattened windows: PCA fitted on the real windows, or one t-SNE of all sets together.

    Parameters
    ----------
    real : numpy.ndarray, shape (n, L, F)
        Real windows (features standardised with their statistics before embedding).
    others : mapping of str to numpy.ndarray
        Label → synthetic windows of the same shape.
    method : {"pca", "tsne"}
        The embedding.
    max_points : int
        Windows drawn at random from each set (t-SNE is quadratic in the points).
    seed : int
        Seed of the subsample and of t-SNE.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"real"`` and each label → ``(m, 2)`` coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = embed_windows(rng.normal(size=(50, 5, 2)), {"noise": rng.normal(size=(40, 5, 2))})
    >>> xy["real"].shape, xy["noise"].shape
    ((50, 2), (40, 2))
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    rng = np.random.default_rng(seed)
    sets = {"real": np.asarray(real, dtype=np.float64), **{k: np.asarray(v, dtype=np.float64) for k, v in
                                                            others.items()}}
    f = sets["real"].shape[2]
    mean = sets["real"].reshape(-1, f).mean(axis=0)
    sd = sets["real"].reshape(-1, f).std(axis=0)
    sd[sd == 0] = 1.0
    flat = {}
    for k, v in sets.items():
        pick = rng.choice(len(v), size=min(max_points, len(v)), replace=False)
        flat[k] = ((v[np.sort(pick)] - mean) / sd).reshape(len(pick), -1)
    if method == "pca":
        pca = PCA(n_components=2, random_state=seed).fit(flat["real"])
        return {k: pca.transform(v) for k, v in flat.items()}
    stacked = np.concatenate(list(flat.values()))
    coords = TSNE(n_components=2, random_state=seed, init="pca", perplexity=min(30.0, (len(stacked) - 1) / 3)
                  ).fit_transform(stacked)
    out, start = {}, 0
    for k, v in flat.items():
        out[k] = coords[start:start + len(v)]
        start += len(v)
    return out


def plot_embedding_overlay(coords: Mapping[str, np.ndarray], *, title: str = "") -> Figure:
    """One panel per synthetic set: its 2-D points over the real ones (from :func:`embed_windows`).

    Parameters
    ----------
    coords : mapping of str to numpy.ndarray
        ``"real"`` and each synthetic label → ``(m, 2)`` coordinates.
    title : str
        Figure title (e.g. ``"PCA"``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_embedding_overlay({"real": rng.normal(size=(30, 2)), "GARCH": rng.normal(size=(30, 2))})
    >>> len(fig.axes)
    1
    """
    labels = [k for k in coords if k != "real"]
    n = max(len(labels), 1)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.6 * rows), squeeze=False)
    real = coords["real"]
    for ax, label in zip(axes.ravel(), labels, strict=False):
        ax.scatter(real[:, 0], real[:, 1], s=6, alpha=0.5, color="black", label="real")
        ax.scatter(coords[label][:, 0], coords[label][:, 1], s=6, alpha=0.5, color="tab:red", label=label)
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, markerscale=2)
    for ax in axes.ravel()[len(labels):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
