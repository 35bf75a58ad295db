"""Matplotlib figures used by reports. Each function takes plain pandas/numpy inputs and returns a Figure.

The backend is left to the user (matplotlib picks a non-interactive one on machines without a display).

Legends stay readable with many assets: a figure that draws one line or bar per column (:func:`plot_lines`,
:func:`plot_bars`, :func:`plot_metric_curves`, :func:`plot_fan_chart`, :func:`plot_traversal`) gives a colour and a
legend entry to at most ``legend_max`` (default 10) of them, chosen by a criterion each function documents; the rest
are still drawn, thin and grey, under one legend entry ``others (n)``.

The factor-model figures (:func:`plot_traversal`, :func:`plot_fan_chart`, :func:`plot_metric_curves`,
:func:`plot_alpha_scatter`) live in :mod:`latentquant.reports.factor_figures` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from latentquant.reports._legend import _LEGEND_MAX, _OTHERS, _nan_abs_mean, _top, _with_others
from latentquant.reports.factor_figures import (
    plot_alpha_scatter,
    plot_fan_chart,
    plot_metric_curves,
    plot_traversal,
)

__all__ = [
    "plot_alpha_scatter",
    "plot_bars",
    "plot_correlation_pair",
    "plot_fan_chart",
    "plot_heatmap",
    "plot_latent_scatter",
    "plot_lines",
    "plot_loss_curves",
    "plot_metric_curves",
    "plot_series_with_band",
    "plot_threshold_series",
    "plot_traversal",
]


def plot_loss_curves(history: Mapping[str, Sequence[float]], *, best_epoch: int | None = None) -> Figure:
    """Train/validation curves of every loss term (one panel per term: ``loss``, ``recon_loss``, ``kl_loss`` …).

    Parameters
    ----------
    history : mapping of str to sequence of float
        Per-epoch values keyed ``train_<term>`` / ``val_<term>`` (e.g. a :class:`~latentquant.training.History`).
    best_epoch : int, optional
        Zero-based epoch whose weights were kept, marked by a vertical line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> history = {"train_loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.4, 2.5],
    ...            "train_kl_loss": [0.5, 0.4, 0.3], "val_kl_loss": [0.6, 0.5, 0.5]}
    >>> fig = plot_loss_curves(history, best_epoch=1)
    >>> [ax.get_title() for ax in fig.axes], [len(ax.lines) for ax in fig.axes]  # train, val, best epoch
    (['loss', 'kl loss'], [3, 3])
    >>> plt.close(fig)
    """
    terms = sorted({k.split("_", 1)[1] for k in history if k.startswith(("train_", "val_"))},
                   key=lambda t: (t != "loss", t))
    fig, axes = plt.subplots(1, len(terms), figsize=(4.2 * len(terms), 3.2), squeeze=False)
    for ax, term in zip(axes[0], terms, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            values = history.get(f"{split}_{term}")
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, label=split)
        if best_epoch is not None and best_epoch >= 0:
            ax.axvline(best_epoch + 1, color="grey", lw=0.8, ls=":", label="kept weights")
        ax.set_title(term.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_series_with_band(mean: pd.DataFrame, std: pd.DataFrame | None = None, *, n_std: float = 2.0,
                          split_date: pd.Timestamp | None = None, max_panels: int = 8) -> Figure:
    """One panel per column of ``mean`` with a ±``n_std``·``std`` band (e.g. latent factors with uncertainty).

    Parameters
    ----------
    mean : pandas.DataFrame
        Dates × series.
    std : pandas.DataFrame, optional
        Standard deviations, same shape (no band without it).
    n_std : float, default 2.0
        Half-width of the band in standard deviations.
    split_date : pandas.Timestamp, optional
        Marked by a dashed vertical line (e.g. the end of the training span).
    max_panels : int, default 8
        At most this many columns are drawn.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, pandas as pd
    >>> mean = pd.DataFrame({"f1": np.linspace(-1, 1, 50), "f2": np.zeros(50)},
    ...                     index=pd.date_range("2020-01-01", periods=50))
    >>> fig = plot_series_with_band(mean, 0 * mean + 0.1)
    >>> len(fig.axes), [len(ax.collections) for ax in fig.axes], fig.axes[0].get_title()
    (2, [1, 1], 'posterior mean ± 2σ')
    >>> plt.close(fig)
    """
    cols = list(mean.columns[:max_panels])
    fig, axes = plt.subplots(len(cols), 1, figsize=(10, 1.6 * len(cols) + 0.6), sharex=True, squeeze=False)
    for ax, col in zip(axes[:, 0], cols, strict=True):
        ax.plot(mean.index, mean[col], lw=0.5, color="C0")
        if std is not None:
            lo, hi = mean[col] - n_std * std[col], mean[col] + n_std * std[col]
            ax.fill_between(mean.index, lo, hi, color="C0", alpha=0.2, lw=0)
        if split_date is not None:
            ax.axvline(split_date, color="k", lw=0.8, ls="--")  # type: ignore[arg-type]
        ax.set_ylabel(str(col))
    axes[0, 0].set_title(f"posterior mean ± {n_std:g}σ" if std is not None else "series")
    fig.tight_layout()
    return fig


def plot_latent_scatter(z: pd.DataFrame, *, color: pd.Series | None = None, color_label: str = "") -> Figure:
    """Scatter of the first two latent dimensions, coloured by ``color`` (e.g. year or volatility).

    Parameters
    ----------
    z : pandas.DataFrame
        Rows × latent dimensions (one dimension is drawn against 0).
    color : pandas.Series, optional
        A value per row, shown with a colour bar.
    color_label : str, default ""
        Label of the colour bar.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 2)), columns=["f1", "f2"])
    >>> fig = plot_latent_scatter(z, color=pd.Series(np.arange(100)), color_label="day")
    >>> len(fig.axes), fig.axes[0].get_xlabel(), fig.axes[1].get_ylabel()  # the scatter and its colour bar
    (2, 'f1', 'day')
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    c = color.to_numpy() if color is not None else None
    sc = ax.scatter(z.iloc[:, 0], z.iloc[:, 1] if z.shape[1] > 1 else np.zeros(len(z)), c=c, s=3, alpha=0.6,
                    cmap="viridis")
    ax.set_xlabel(str(z.columns[0]))
    ax.set_ylabel(str(z.columns[1]) if z.shape[1] > 1 else "")
    if c is not None:
        fig.colorbar(sc, ax=ax, label=color_label)
    fig.tight_layout()
    return fig


def plot_threshold_series(score: pd.Series, threshold: float, *, split_date: pd.Timestamp | None = None,
                          ylabel: str = "score") -> Figure:
    """A score over time with a horizontal threshold; points above it are highlighted.

    Parameters
    ----------
    score : pandas.Series
        Positive scores over dates (drawn on a log scale).
    threshold : float
        The horizontal line.
    split_date : pandas.Timestamp, optional
        Marked by a dashed vertical line.
    ylabel : str, default "score"
        Label of the y-axis.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> score = pd.Series([1.0, 2.0, 50.0, 1.5, 80.0], index=pd.date_range("2020-01-01", periods=5))
    >>> fig = plot_threshold_series(score, threshold=10.0)
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'above threshold (2)'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(score.index, score.to_numpy(), lw=0.5, color="C0")
    above = score > threshold
    ax.scatter(score.index[above], score[above], s=6, color="C3", label=f"above threshold ({int(above.sum())})")
    ax.axhline(threshold, color="C3", lw=0.8, ls="--")
    if split_date is not None:
        ax.axvline(split_date, color="k", lw=0.8, ls="--")  # type: ignore[arg-type]
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_bars(table: pd.DataFrame, *, ylabel: str = "", title: str = "", legend_max: int = _LEGEND_MAX) -> Figure:
    """Grouped bar chart: one group per row, one bar per column.

    With more than ``legend_max`` columns, the ``legend_max`` columns with the largest mean absolute value over the
    groups are coloured and named in the legend; the others are grey under one ``others (n)`` entry.

    Parameters
    ----------
    table : pandas.DataFrame
        Groups × bars.
    ylabel, title : str
        Labels.
    legend_max : int, default 10
        At most this many columns get a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> fig = plot_bars(pd.DataFrame({"VAE": [0.4, 0.5], "PCA": [0.38, 0.45]}, index=["stocks", "crypto"]))
    >>> len(fig.axes[0].patches)  # 2 groups × 2 bars
    4
    >>> plt.close(fig)
    """
    keep = _top(_nan_abs_mean(table), legend_max)
    colours: list[Any] = [_OTHERS] * table.shape[1]
    for rank, i in enumerate(np.flatnonzero(keep)):
        colours[i] = f"C{rank % 10}"
    fig, ax = plt.subplots(figsize=(min(24.0, max(6.0, 0.45 * len(table) * max(1, table.shape[1]))), 3.5))
    table.plot.bar(ax=ax, width=0.8, color=colours, legend=False)
    handles: list[Any] = [Patch(facecolor=colours[i]) for i in np.flatnonzero(keep)]
    labels = [str(table.columns[int(i)]) for i in np.flatnonzero(keep)]
    ax.legend(*_with_others(handles, labels, int((~keep).sum()), patch=True), fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.axhline(0, color="k", lw=0.6)
    fig.tight_layout()
    return fig


def plot_lines(table: pd.DataFrame, *, ylabel: str = "", title: str = "", logy: bool = False,
               legend_max: int = _LEGEND_MAX) -> Figure:
    """One line per column on a shared axis (e.g. equity curves); log scale on y when ``logy``.

    With more than ``legend_max`` columns, the ``legend_max`` columns that move most — the largest standard
    deviation over the index, of ``log10`` of the values when ``logy`` — are coloured and named in the legend; the
    others are drawn thin and grey under one ``others (n)`` entry.

    Parameters
    ----------
    table : pandas.DataFrame
        Index on the x-axis, one line per column.
    ylabel, title : str
        Labels.
    logy : bool, default False
        Logarithmic y-axis.
    legend_max : int, default 10
        At most this many lines get a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> wealth = pd.DataFrame({"strategy": [1.0, 1.1, 1.2], "index": [1.0, 0.9, 1.3]},
    ...                       index=pd.date_range("2020-01-01", periods=3))
    >>> fig = plot_lines(wealth, logy=True)
    >>> len(fig.axes[0].lines), fig.axes[0].get_yscale()
    (2, 'log')
    >>> plt.close(fig)

    Forty assets: all forty lines, ten legend entries for the ten most volatile and one for the rest:

    >>> paths = pd.DataFrame(np.cumsum(np.random.default_rng(0).normal(size=(50, 40)), axis=0) * np.arange(1, 41))
    >>> fig = plot_lines(paths)
    >>> labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    >>> len(fig.axes[0].lines), len(labels), labels[-1]
    (40, 11, 'others (30)')
    >>> plt.close(fig)
    """
    values = table.to_numpy(dtype=np.float64)
    if logy:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log10(np.where(values > 0, values, np.nan))
    finite = np.where(np.isfinite(values), values, np.nan)
    scores = [np.nanstd(col) if np.isfinite(col).any() else np.nan for col in finite.T]
    keep = _top(scores, legend_max)
    fig, ax = plt.subplots(figsize=(10, 4))
    rank = 0
    for i, col in enumerate(table.columns):
        if keep[i]:
            ax.plot(table.index, table.iloc[:, i], lw=1.0, color=f"C{rank % 10}", label=str(col), zorder=3)
            rank += 1
        else:
            ax.plot(table.index, table.iloc[:, i], lw=0.6, color=_OTHERS, zorder=2)
    if logy:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    handles, labels = _with_others(*ax.get_legend_handles_labels(), int((~keep).sum()))
    ax.legend(handles, labels, fontsize=8, ncol=min(4, max(1, len(labels))))
    fig.tight_layout()
    return fig


def plot_correlation_pair(left: pd.DataFrame, right: pd.DataFrame, titles: tuple[str, str]) -> Figure:
    """Two correlation matrices side by side on the same colour scale.

    Parameters
    ----------
    left, right : pandas.DataFrame
        Correlation matrices.
    titles : tuple of str
        Titles of the two panels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, pandas as pd
    >>> corr = pd.DataFrame(np.eye(3), index=list("abc"), columns=list("abc"))
    >>> fig = plot_correlation_pair(corr, 0.5 * corr, ("historical", "scenarios"))
    >>> [ax.get_title() for ax in fig.axes]  # two panels and the shared colour bar
    ['historical', 'scenarios', '']
    >>> plt.close(fig)
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, corr, title in zip(axes, (left, right), titles, strict=True):
        im = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(corr.columns)), corr.columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(corr.index)), corr.index, fontsize=7)
        ax.set_title(title)
    fig.colorbar(im, ax=axes, shrink=0.8)
    return fig


def plot_heatmap(table: pd.DataFrame, *, title: str = "", center: float | None = 0.0, vlim: float | None = None,
                 fmt: str = ".2f", cmap: str = "RdBu_r", annotate: bool = True) -> Figure:
    """A labelled heat map of a small table (loadings, correlation matrices); symmetric colour scale around
    ``center`` unless ``center`` is None; values written in the cells when ``annotate``.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows × columns of numbers.
    title : str, default ""
        Title.
    center : float or None, default 0.0
        Centre of a symmetric colour scale; ``None``: the data's range.
    vlim : float, optional
        Half-width of the symmetric scale (default: the largest distance from ``center``).
    fmt : str, default ".2f"
        Format of the cell values.
    cmap : str, default "RdBu_r"
        Matplotlib colour map.
    annotate : bool, default True
        Write the values in the cells (tables of at most 400 cells).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> loadings = pd.DataFrame([[0.1, -0.2], [0.3, 0.0]], index=["A", "B"], columns=["f1", "f2"])
    >>> fig = plot_heatmap(loadings, title="loadings")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0.10', '-0.20', '0.30', '0.00']
    >>> plt.close(fig)
    """
    values = table.to_numpy(dtype=np.float64)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * table.shape[1] + 1.2, 0.8 + 0.28 * table.shape[0]))
    if center is not None:
        lim = vlim if vlim is not None else float(np.nanmax(np.abs(values - center))) or 1.0
        im = ax.imshow(values, cmap=cmap, vmin=center - lim, vmax=center + lim, aspect="auto")
    else:
        im = ax.imshow(values, cmap=cmap, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], fontsize=8)
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index], fontsize=7)
    if annotate and table.size <= 400:
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=6)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig
