"""Matplotlib figures used by reports. Each function takes plain pandas/numpy inputs and returns a Figure.

The backend is left to the user (matplotlib picks a non-interactive one on machines without a display).

Legends stay readable with many assets: a figure that draws one line or bar per column (:func:`plot_lines`,
:func:`plot_bars`, :func:`plot_metric_curves`, :func:`plot_fan_chart`, :func:`plot_traversal`) gives a colour and a
legend entry to at most ``legend_max`` (default 10) of them, chosen by a criterion each function documents; the rest
are still drawn, thin and grey, under one legend entry ``others (n)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

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


_LEGEND_MAX = 10
_OTHERS = "0.72"  # grey of the series without a legend entry


def _top(scores: Sequence[float] | np.ndarray, legend_max: int) -> np.ndarray:
    """Boolean mask of the ``legend_max`` largest scores (NaN ranks last; ties keep the earlier column)."""
    if not (isinstance(legend_max, (int, np.integer)) and legend_max >= 1):
        raise ValueError(f"legend_max must be a positive integer, got {legend_max!r}.")
    values = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    keep = np.zeros(len(values), dtype=bool)
    keep[np.argsort(-values, kind="stable")[:legend_max]] = True
    return keep


def _with_others(handles: list[Any], labels: list[str], n_others: int, *,
                 patch: bool = False) -> tuple[list[Any], list[str]]:
    """The legend's handles and labels with one grey ``others (n)`` entry appended when ``n_others > 0``."""
    if n_others > 0:
        handles = [*handles, Patch(facecolor=_OTHERS) if patch else Line2D([], [], color=_OTHERS, lw=0.8)]
        labels = [*labels, f"others ({n_others})"]
    return handles, labels


def _nan_abs_mean(frame: pd.DataFrame) -> np.ndarray:
    values = np.abs(frame.to_numpy(dtype=np.float64))
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    return np.where(counts > 0, np.where(finite, values, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)


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


def plot_traversal(responses: Mapping[str, pd.DataFrame], *, ylabel: str = "decoded return",
                   max_lines: int = _LEGEND_MAX) -> Figure:
    """Latent traversals: one panel per factor; each panel shows every asset's decoded response (lines) as that
    factor is swept (x-axis: the factor's value, rows of each table) while the others are held fixed.

    Every asset is drawn. The ``max_lines`` most responsive assets — the largest range (max − min) of the decoded
    response, summed over the factors — keep one colour in every panel and a legend entry; the others are thin and
    grey under one ``others (n)`` entry.

    Parameters
    ----------
    responses : mapping of str to pandas.DataFrame
        Factor name → swept values × assets (e.g. ``VAEFactorModel.traverse()``), the same assets in every table.
    ylabel : str, default "decoded return"
        Label of the y-axis.
    max_lines : int, default 10
        At most this many assets get a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> sweep = [-2.0, 0.0, 2.0]
    >>> responses = {"f1": pd.DataFrame({"A": [-1.0, 0.0, 1.0], "B": [1.0, 0.0, -1.0]}, index=sweep),
    ...              "f2": pd.DataFrame({"A": [0.0, 0.0, 0.0], "B": [0.5, 0.0, -0.5]}, index=sweep)}
    >>> fig = plot_traversal(responses)
    >>> [ax.get_title() for ax in fig.axes], [len(ax.lines) for ax in fig.axes]  # 2 assets + 2 reference lines
    (['sweep f1', 'sweep f2'], [4, 4])
    >>> plt.close(fig)
    """
    names = list(responses)
    assets = list(responses[names[0]].columns) if names else []
    spread = np.zeros(len(assets))
    for frame in responses.values():
        values = frame.reindex(columns=assets).to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            rng = np.nanmax(values, axis=0, initial=-np.inf) - np.nanmin(values, axis=0, initial=np.inf)
        spread += np.where(np.isfinite(rng), rng, 0.0)
    keep = _top(spread, max_lines) if assets else np.zeros(0, dtype=bool)
    colour = {a: f"C{rank % 10}" for rank, a in enumerate(a for a, k in zip(assets, keep, strict=True) if k)}
    n_cols = min(4, len(names))
    n_rows = int(np.ceil(len(names) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 2.9 * n_rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names, strict=False):
        frame = responses[name]
        for col in frame.columns:
            if col in colour:
                ax.plot(frame.index, frame[col], lw=0.9, color=colour[col], zorder=3)
            else:
                ax.plot(frame.index, frame[col], lw=0.5, color=_OTHERS, zorder=2)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5, ls=":")
        ax.set_title(f"sweep {name}")
        ax.set_xlabel(f"{name} (others fixed)")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    axes[0, 0].set_ylabel(ylabel)
    handles, labels = _with_others([Line2D([], [], color=c, lw=0.9) for c in colour.values()],
                                   [str(a) for a in colour], int((~keep).sum()))
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_fan_chart(paths: Mapping[str, np.ndarray], *, realised: pd.Series | None = None,
                   quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95), ylabel: str = "cumulative return",
                   title: str = "", legend_max: int = _LEGEND_MAX) -> Figure:
    """Fan chart of simulated cumulative paths: for each named set of paths (``(n_paths, horizon)`` arrays), the
    median and the bands between symmetric quantiles; an optional realised path (indexed 1..horizon) on top.

    With more than ``legend_max`` sets, the ``legend_max`` sets whose median ends farthest from 0 (largest
    ``|median|`` at the last step) get their bands, a colour and a legend entry; the others show only their median,
    thin and grey, under one ``others (n)`` entry.

    Parameters
    ----------
    paths : mapping of str to numpy.ndarray
        Name → simulated cumulative returns, ``(n_paths, horizon)``.
    realised : pandas.Series, optional
        The realised cumulative return (its name is the legend label).
    quantiles : sequence of float, default (0.05, 0.25, 0.5, 0.75, 0.95)
        Symmetric quantiles; each outer pair is a band.
    ylabel, title : str
        Labels.
    legend_max : int, default 10
        At most this many sets get bands, a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, pandas as pd
    >>> paths = {"prior": np.cumsum(np.random.default_rng(0).normal(0, 0.01, (200, 10)), axis=1)}
    >>> fig = plot_fan_chart(paths, realised=pd.Series(np.linspace(0, -0.1, 10), name="2008"))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()], len(fig.axes[0].collections)  # two bands
    (['prior: median, 5%–95% band', '2008'], 2)
    >>> plt.close(fig)
    """
    q = sorted(quantiles)
    medians = {name: np.median(arr, axis=0) for name, arr in paths.items()}
    keep: np.ndarray = (_top([abs(m[-1]) if len(m) else np.nan for m in medians.values()], legend_max) if paths
                        else np.zeros(0, dtype=bool))
    fig, ax = plt.subplots(figsize=(8, 4))
    rank = 0
    for (name, arr), shown in zip(paths.items(), keep, strict=True):
        steps = np.arange(1, arr.shape[1] + 1)
        if not shown:
            ax.plot(steps, medians[name], color=_OTHERS, lw=0.6, zorder=2)
            continue
        qs = np.quantile(arr, q, axis=0)
        color = f"C{rank % 10}"
        rank += 1
        for lo in range(len(q) // 2):  # nested bands: (q0, q-1), (q1, q-2), ...
            ax.fill_between(steps, qs[lo], qs[len(q) - 1 - lo], color=color, alpha=0.15, lw=0)
        ax.plot(steps, medians[name], color=color, lw=1.2, zorder=3, label=f"{name}: median, "
                f"{q[0]:.0%}–{q[-1]:.0%} band")
    if realised is not None:
        ax.plot(np.arange(1, len(realised) + 1), realised.to_numpy(), color="k", lw=1.3, zorder=4,
                label=str(realised.name))
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("days ahead")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    handles, labels = _with_others(*ax.get_legend_handles_labels(), int((~keep).sum()))
    ax.legend(handles, labels, fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def plot_metric_curves(mean: pd.DataFrame, std: pd.DataFrame | None = None, *, xlabel: str = "", ylabel: str = "",
                       title: str = "", legend_max: int = _LEGEND_MAX) -> Figure:
    """One line per column of ``mean`` against its index (e.g. R² against the number of factors), with ±1 std
    error bars from ``std`` (e.g. across seeds).

    With more than ``legend_max`` columns, the ``legend_max`` columns with the largest mean absolute value over the
    index (for R²: the best models) keep a colour, error bars and a legend entry; the others are thin grey lines
    under one ``others (n)`` entry.

    Parameters
    ----------
    mean : pandas.DataFrame
        x values (index) × lines.
    std : pandas.DataFrame, optional
        Error bars, same shape.
    xlabel, ylabel, title : str
        Labels.
    legend_max : int, default 10
        At most this many lines get a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> r2 = pd.DataFrame({"VAE": [0.3, 0.4, 0.45], "PCA": [0.28, 0.38, 0.44]}, index=pd.Index([1, 2, 3], name="K"))
    >>> fig = plot_metric_curves(r2, 0 * r2 + 0.01, xlabel="K")
    >>> len(fig.axes[0].containers), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (2, ['VAE', 'PCA'])
    >>> plt.close(fig)
    """
    keep = _top(_nan_abs_mean(mean), legend_max)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    rank = 0
    for i, col in enumerate(mean.columns):
        if not keep[i]:
            ax.plot(mean.index, mean.iloc[:, i].to_numpy(), lw=0.6, color=_OTHERS, zorder=2)
            continue
        err = std[col].to_numpy() if std is not None and col in std else None
        ax.errorbar(mean.index, mean.iloc[:, i].to_numpy(), yerr=err, marker="o", ms=4, capsize=3,
                    color=f"C{rank % 10}", label=str(col), zorder=3)
        rank += 1
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    handles, labels = _with_others(*ax.get_legend_handles_labels(), int((~keep).sum()))
    ax.legend(handles, labels, fontsize=8)
    fig.tight_layout()
    return fig


def plot_alpha_scatter(tables: Mapping[str, pd.DataFrame], *, threshold: float = 3.0) -> Figure:
    """Mean realised vs mean model-implied return of each test portfolio, one panel per model; points whose alpha has
    ``|t_stat| > threshold`` are filled red. Each table needs columns ``mean_return``, ``mean_fitted``, ``t_stat``.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Model name → one row per portfolio (e.g. :func:`~latentquant.evaluation.pricing_errors` with the means).
    threshold : float, default 3.0
        Absolute t-statistic above which an alpha is significant.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> ff = pd.DataFrame({"mean_return": [0.01, 0.02, 0.015], "mean_fitted": [0.011, 0.012, 0.014],
    ...                    "t_stat": [0.5, 3.4, -1.0]})
    >>> fig = plot_alpha_scatter({"FF": ff, "PCA": ff.assign(t_stat=0.0)})
    >>> [ax.get_title() for ax in fig.axes], [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (['FF', 'PCA'], ['|t| ≤ 3', '|t| > 3 (1)'])
    >>> plt.close(fig)
    """
    names = list(tables)
    n_cols = min(4, len(names))
    n_rows = int(np.ceil(len(names) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols, 3.3 * n_rows), squeeze=False)
    values = np.concatenate([t[["mean_return", "mean_fitted"]].to_numpy().ravel() for t in tables.values()])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.05 * (hi - lo or 1.0)
    for ax, name in zip(axes.flat, names, strict=False):
        t = tables[name]
        sig = t["t_stat"].abs() > threshold
        ax.scatter(t.loc[~sig, "mean_fitted"], t.loc[~sig, "mean_return"], s=14, facecolors="none",
                   edgecolors="C0", label=f"|t| ≤ {threshold:g}")
        ax.scatter(t.loc[sig, "mean_fitted"], t.loc[sig, "mean_return"], s=16, color="C3",
                   label=f"|t| > {threshold:g} ({int(sig.sum())})")
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", lw=0.6)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(name)
        ax.set_xlabel("model-implied mean")
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("realised mean")
    fig.tight_layout()
    return fig
