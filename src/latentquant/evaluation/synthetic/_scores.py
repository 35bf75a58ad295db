"""Discriminative and predictive scores of synthetic windows: post-hoc recurrent networks trained on real vs synthetic.

Both scores train a small recurrent network after the fact (*post hoc*) and read off how well it does:

* **Discriminative score** (:func:`discriminative_score`): a recurrent classifier learns to tell real windows
  (label 1) from synthetic ones (label 0); it is scored on held-out windows of both sets by the AUC, the accuracy at
  probability 0.5 and ``|accuracy − 0.5|`` (0: indistinguishable). The accuracy is *balanced* (mean of the two
  per-class hit rates), which equals the plain accuracy when both test sets have the same size, as in TimeGAN's
  benchmarks.
* **Predictive score** (:func:`predictive_score`): a recurrent regressor trained on synthetic windows (TSTR: train on
  synthetic, test on real) and the same network with the same budget trained on real windows (TRTR, the baseline
  any generator is measured against) are both evaluated on held-out real windows: MAE, MSE and the TSTR/TRTR MAE
  ratio (1: the synthetic data teach the network as much as the real data do).

Two conventions (``convention=``):

``"latentquant"`` (default)
    Windows ``(n, L, F)`` in time order. Each set is split by position into a training block (the first 80%) and a
    test block (the last 20%), with ``gap = L − 1`` windows dropped between them so that no training window shares a
    row with a test window when the windows overlap (stride 1). Features are standardised with the mean and standard
    deviation of the real training block (the same affine map for both sets, so nothing distinguishable is removed);
    the predictive errors are in these standardised units. Networks: 1-layer GRU (``cell="lstm"``: an LSTM, as in the
    book), 24 hidden units; the classifier reads the final hidden state; the regressor reads the first ``L − 1``
    steps and predicts all ``F`` features of the last step (MSE loss). Adam (lr 1e-3), batches of 64, 20 epochs.
``"timegan"``
    The post-hoc networks of TimeGAN's reference code (Yoon et al. 2019, ``metrics/discriminative_metrics.py`` and
    ``predictive_metrics.py``), so that published numbers can be compared like for like: a GRU with
    ``max(1, F // 2)`` hidden units (one layer, as in the code; the paper's text mentions two, ``layers=2`` gives
    them), a random 80/20 split of each set, no standardisation (TimeGAN min-max scales the data beforehand, and its
    predictor ends in a sigmoid), 2,000 classifier steps on batches of 256 pooled windows (TimeGAN: 128 real + 128
    synthetic) and 5,000 regressor steps on batches of 128. The regressor predicts the *last feature* one step ahead
    from the other features at every step (inputs ``x[:, :L−1, :F−1]``, targets ``x[:, 1:, F−1]``, L1 loss); TSTR
    trains on all synthetic windows and is tested on all real windows, and TRTR (TimeGAN's "original data" row) trains
    and tests on all real windows (in-sample, as published).

Training goes through the library's :class:`~latentquant.training.Trainer` (seeded batch order, no validation split,
no early stopping, no gradient clipping). Repetition over ``k`` synthetic draws (:func:`discriminative_scores`,
:func:`predictive_scores`) trains the ``k`` networks as *one* module of stacked weights
(:mod:`latentquant.evaluation.synthetic._recurrent`): all ``k`` networks start from the same weights (drawn from
``seed``) and see the same batch positions, each only in its own draw, so network ``j`` is the network
``discriminative_score(real, synthetic_draws[j], seed=seed)`` trains, and the draw-to-draw spread measures the
generator, not the classifier's initialisation.

References
----------
Yoon, J., Jarrett, D. & van der Schaar, M. (2019). Time-series Generative Adversarial Networks. NeurIPS 32.
Esteban, C., Hyland, S. L. & Rätsch, G. (2017). Real-valued (Medical) Time Series Generation with Recurrent
Conditional GANs (train-on-synthetic, test-on-real). arXiv:1706.02633.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from scipy import stats
from torch import nn

from latentquant._threads import fit_threads, limit_threads
from latentquant.evaluation.synthetic._posthoc import (
    _TIMEGAN_DISC_BATCH,
    _TIMEGAN_DISC_STEPS,
    _TIMEGAN_PRED_BATCH,
    _TIMEGAN_PRED_STEPS,
    Convention,
    _as_draws,
    _as_windows,
    _check_count,
    _check_enough,
    _check_pair,
    _epochs_for,
    _PostHocNet,
    _predict,
    _setup,
    _split,
    _standardizer,
    _time_major,
    _train,
)
from latentquant.evaluation.synthetic._score_results import (
    _DISC_METRICS,
    _PRED_METRICS,
    DiscriminativeScore,
    PredictiveScore,
    RepeatedScores,
)
from latentquant.exceptions import DataValidationError

__all__ = [
    "DiscriminativeScore",
    "PredictiveScore",
    "RepeatedScores",
    "discriminative_score",
    "discriminative_scores",
    "predictive_score",
    "predictive_scores",
]


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Row-wise ROC AUC (Mann–Whitney, ties counted as one half) of scores ``pos (k, a)`` vs ``neg (k, b)``."""
    ranks = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    a, b = pos.shape[1], neg.shape[1]
    result: np.ndarray = (ranks[:, :a].sum(axis=1) - a * (a + 1) / 2.0) / (a * b)
    return result


def _discriminate(real: Any, synthetic: Any, single: bool, name: str, *, seed: Any, hidden: Any, layers: Any,
                  cell: Any, epochs: Any, batch_size: Any, lr: Any, convention: Any, train_fraction: Any, gap: Any,
                  standardize: Any) -> list[DiscriminativeScore]:
    real_w = _as_windows(real, "real")
    draws = _as_draws(synthetic, name, single)
    _check_pair(real_w, draws, name)
    setup = _setup(convention=convention, cell=cell, hidden=hidden, layers=layers, epochs=epochs,
                   batch_size=batch_size, lr=lr, train_fraction=train_fraction, gap=gap, standardize=standardize,
                   seed=seed, n_features=real_w.shape[2], length=real_w.shape[1],
                   timegan_batch=_TIMEGAN_DISC_BATCH)
    what = "discriminative score's classifier"
    _check_enough(real_w.shape[0], "real", setup.train_fraction, setup.gap, what)
    _check_enough(draws.shape[1], name, setup.train_fraction, setup.gap, what)
    rng = np.random.default_rng(setup.seed)
    real_tr, real_te = _split(real_w.shape[0], setup, rng)
    syn_tr, syn_te = _split(draws.shape[1], setup, rng)
    scale = _standardizer(real_w[real_tr], setup.standardize)
    real_w, draws = scale(real_w), scale(draws)
    k, n_r, n_s = draws.shape[0], real_tr.size, syn_tr.size
    n_train = n_r + n_s

    # rows = windows: the first n_r are the real training windows (the same for every network), then each
    # network's own synthetic training windows; class weights give both classes the same total weight
    x = torch.cat([torch.from_numpy(real_w[real_tr]).unsqueeze(1).expand(-1, k, -1, -1),
                   torch.from_numpy(draws[:, syn_tr]).transpose(0, 1)])
    y = torch.cat([torch.ones(n_r), torch.zeros(n_s)])
    w = torch.cat([torch.full((n_r,), n_train / (2.0 * n_r)), torch.full((n_s,), n_train / (2.0 * n_s))])

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        xb, yb, wb = batch
        logits = model(_time_major(xb)).squeeze(-1)  # (k, B)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, yb.expand_as(logits), reduction="none")
        return {"loss": (bce * wb).mean(dim=1).sum()}  # a sum of per-network means: the networks stay independent

    n_epochs = _epochs_for(setup, n_train, _TIMEGAN_DISC_STEPS)
    with limit_threads(fit_threads()):
        model = _PostHocNet(k, real_w.shape[2], 1, setup, per_step=False, squash=False)
        _train(model, loss_fn, (x, y, w), setup, n_epochs)
        real_logits = _predict(model, torch.from_numpy(real_w[real_te]), k).squeeze(-1).double().numpy()
        syn_logits = _predict(model, torch.from_numpy(draws[:, syn_te]), k).squeeze(-1).double().numpy()
    aucs = _auc(real_logits, syn_logits)
    accuracies = 0.5 * ((real_logits > 0).mean(axis=1) + (syn_logits <= 0).mean(axis=1))
    return [DiscriminativeScore(
        auc=float(aucs[j]), accuracy=float(accuracies[j]), score=float(abs(accuracies[j] - 0.5)),
        convention=setup.convention, cell=setup.cell, hidden=setup.hidden, layers=setup.layers, epochs=n_epochs,
        batch_size=setup.batch_size, n_real_train=n_r, n_real_test=int(real_te.size), n_synthetic_train=n_s,
        n_synthetic_test=int(syn_te.size), seed=setup.seed) for j in range(k)]


def discriminative_score(real: Any, synthetic: Any, *, seed: int = 0, hidden: int | None = None, layers: int = 1,
                         cell: Literal["gru", "lstm"] = "gru", epochs: int | None = None, batch_size: int | None = None,
                         lr: float = 1e-3, convention: Convention = "latentquant", train_fraction: float = 0.8,
                         gap: int | None = None, standardize: bool | None = None) -> DiscriminativeScore:
    """Discriminative score: can a post-hoc recurrent classifier tell real from synthetic windows?

    A GRU (or LSTM) classifier is trained on the training windows of both sets (real = 1, synthetic = 0,
    class-weighted binary cross-entropy) and scored on their test windows. See the module docstring for the two
    conventions.

    Parameters
    ----------
    real : array-like, shape (n_real, L, F)
        Real windows in time order (e.g. ``latentquant.data.sliding_windows(frame, L)``).
    synthetic : array-like, shape (n_synthetic, L, F)
        Synthetic windows of the same length and features.
    seed : int, default 0
        Seeds the initial weights, the batch order and (``"timegan"``) the random split: the same seed gives the
        same numbers.
    hidden : int, optional
        Hidden units (default 24; ``"timegan"``: ``max(1, F // 2)``).
    layers : int, default 1
        Stacked GRU layers.
    cell : {"gru", "lstm"}
        Recurrent cell (the book's classifier and regressor are LSTMs, TimeGAN's GRUs).
    epochs : int, optional
        Passes over the pooled training windows (default 20; ``"timegan"``: as many as make about 2,000 steps).
    batch_size : int, optional
        Windows per step (default 64; ``"timegan"``: 256).
    lr : float, default 1e-3
        Adam learning rate.
    convention : {"latentquant", "timegan"}
        Split, scaling and network conventions (module docstring).
    train_fraction : float, default 0.8
        Share of each set's windows used for training.
    gap : int, optional
        Windows dropped between the training and the test block of each set (default ``L − 1``, right for
        overlapping stride-1 windows; ``"timegan"``: 0).
    standardize : bool, optional
        Standardise every feature with the real training windows' mean and standard deviation (default: yes, except
        under ``"timegan"``).

    Returns
    -------
    DiscriminativeScore
        ``auc``, ``accuracy`` (balanced, at probability 0.5) and ``score`` = ``|accuracy − 0.5|``.

    Raises
    ------
    DataValidationError
        Windows not shaped ``(n, L, F)``, NaN/inf, a synthetic length or feature count that differs from the real
        one, or too few windows for the classifier (the message says how many are needed).
    ConfigError
        An option out of range.

    See Also
    --------
    discriminative_scores : the score over many synthetic draws, trained as one batched model.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(80, 6, 2))
    >>> res = discriminative_score(real, real, epochs=2, hidden=4)  # identical sets are indistinguishable
    >>> res.auc, res.accuracy, res.score
    (0.5, 0.5, 0.0)
    """
    return _discriminate(real, synthetic, True, "synthetic", seed=seed, hidden=hidden, layers=layers, cell=cell,
                         epochs=epochs, batch_size=batch_size, lr=lr, convention=convention,
                         train_fraction=train_fraction, gap=gap, standardize=standardize)[0]


def discriminative_scores(real: Any, synthetic_draws: Any, *, seed: int = 0, hidden: int | None = None,
                          layers: int = 1, cell: Literal["gru", "lstm"] = "gru", epochs: int | None = None,
                          batch_size: int | None = None, lr: float = 1e-3, convention: Convention = "latentquant",
                          train_fraction: float = 0.8, gap: int | None = None,
                          standardize: bool | None = None) -> RepeatedScores:
    """The discriminative score of every synthetic draw, with mean, standard deviation and quartiles.

    The ``k`` classifiers are trained at once as one module of stacked weights; classifier ``j`` starts from the same
    weights and sees the same batch positions as the one :func:`discriminative_score` trains for draw ``j`` with the
    same ``seed``, so ``discriminative_scores(real, draws).draws[j]`` equals ``discriminative_score(real, draws[j])``
    up to floating-point rounding, and runs several times faster than ``k`` separate fits (4.6× for 50 draws of the
    SPX set on one CPU thread; ``benchmarks/bench_synthetic_eval.py``).

    Parameters
    ----------
    real : array-like, shape (n_real, L, F)
        Real windows in time order.
    synthetic_draws : array-like, shape (k, n_synthetic, L, F), or list of k arrays (n_synthetic, L, F)
        Independent synthetic draws, all of the same shape.
    seed, hidden, layers, cell, epochs, batch_size, lr, convention, train_fraction, gap, standardize
        As in :func:`discriminative_score`.

    Returns
    -------
    RepeatedScores
        ``draws`` (one :class:`DiscriminativeScore` each), ``mean``, ``std``, ``quartiles``, ``describe()``.

    Raises
    ------
    DataValidationError
        As :func:`discriminative_score`; also draws of different shapes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(80, 6, 2))
    >>> draws = [real, real + 2.0]  # a perfect draw and an obviously shifted one
    >>> rep = discriminative_scores(real, draws, epochs=20, hidden=4, lr=1e-2)
    >>> rep.draws[0].auc, rep.draws[1].auc > 0.9
    (0.5, True)
    >>> list(rep.describe().columns)
    ['n', 'mean', 'std', 'min', '25%', '50%', '75%', 'max']
    """
    scores = _discriminate(real, synthetic_draws, False, "synthetic_draws", seed=seed, hidden=hidden, layers=layers,
                           cell=cell, epochs=epochs, batch_size=batch_size, lr=lr, convention=convention,
                           train_fraction=train_fraction, gap=gap, standardize=standardize)
    return RepeatedScores(tuple(scores), _DISC_METRICS)


# --------------------------------------------------------------------------------------------------------------------
# predictive score
# --------------------------------------------------------------------------------------------------------------------
def _regression_task(windows: np.ndarray, timegan: bool) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of the regressor from windows ``(..., n, L, F)``."""
    if timegan:  # the other features at steps 0..L-2 → the last feature at steps 1..L-1
        return windows[..., :-1, :-1], windows[..., 1:, -1:]
    return windows[..., :-1, :], windows[..., -1, :]  # the first L-1 steps → the whole last step


def _predict_errors(real: Any, synthetic: Any, single: bool, name: str, *, seed: Any, hidden: Any, layers: Any,
                    cell: Any, epochs: Any, batch_size: Any, lr: Any, convention: Any, train_fraction: Any, gap: Any,
                    standardize: Any) -> list[PredictiveScore]:
    real_w = _as_windows(real, "real")
    draws = _as_draws(synthetic, name, single)
    _check_pair(real_w, draws, name)
    length, n_features = real_w.shape[1:]
    setup = _setup(convention=convention, cell=cell, hidden=hidden, layers=layers, epochs=epochs,
                   batch_size=batch_size, lr=lr, train_fraction=train_fraction, gap=gap, standardize=standardize,
                   seed=seed, n_features=n_features, length=length, timegan_batch=_TIMEGAN_PRED_BATCH)
    timegan = setup.convention == "timegan"
    if length < 2:
        raise DataValidationError(f"the predictive score needs windows of at least 2 steps (it predicts a step "
                                  f"from the ones before), got length {length}; pass longer windows.")
    if timegan and n_features < 2:
        raise DataValidationError("the TimeGAN predictive score predicts the last feature from the others and needs "
                                  "at least 2 features, got 1; use convention='latentquant' for one feature.")
    what = "predictive score's regressor"
    if timegan:  # TimeGAN: TSTR trains on all synthetic windows, both are tested on all real windows
        _check_count(real_w.shape[0], "real", what)
        _check_count(draws.shape[1], name, what)
        real_tr = real_te = np.arange(real_w.shape[0])
        syn_tr = np.arange(draws.shape[1])
    else:
        _check_enough(real_w.shape[0], "real", setup.train_fraction, setup.gap, what)
        _check_enough(draws.shape[1], name, setup.train_fraction, setup.gap, what)
        rng = np.random.default_rng(setup.seed)
        real_tr, real_te = _split(real_w.shape[0], setup, rng)
        syn_tr, _ = _split(draws.shape[1], setup, rng)
    scale = _standardizer(real_w[real_tr], setup.standardize)
    real_w, draws = scale(real_w), scale(draws)
    k = draws.shape[0]
    n_in = n_features - 1 if timegan else n_features
    n_out = 1 if timegan else n_features

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        xb, yb = batch
        pred = model(_time_major(xb))
        if timegan:  # (L-1, k, B, 1) vs targets (B, k, L-1, 1): L1 loss as in TimeGAN
            err = (pred - _time_major(yb)).abs().mean(dim=(0, 2, 3))
        else:  # (k, B, F) vs targets (B, k, F)
            err = ((pred - yb.transpose(0, 1)) ** 2).mean(dim=(1, 2))
        return {"loss": err.sum()}  # a sum of per-network means: the networks stay independent

    # TSTR for every draw and TRTR train together when their training sets have the same size (the TRTR network is
    # then network k of the stack); otherwise TRTR is trained on its own, with the same seed
    stack_trtr = syn_tr.size == real_tr.size
    sets = np.concatenate([draws[:, syn_tr], real_w[None, real_tr]]) if stack_trtr else draws[:, syn_tr]
    n_epochs = _epochs_for(setup, syn_tr.size, _TIMEGAN_PRED_STEPS)
    x_test, y_test = _regression_task(real_w[real_te], timegan)

    def fit_and_test(train_sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_nets = train_sets.shape[0]
        x_tr, y_tr = _regression_task(train_sets, timegan)
        model = _PostHocNet(n_nets, n_in, n_out, setup, per_step=timegan, squash=timegan)
        _train(model, loss_fn, (torch.from_numpy(x_tr).transpose(0, 1), torch.from_numpy(y_tr).transpose(0, 1)),
               setup, n_epochs)
        err = _predict(model, torch.from_numpy(x_test), n_nets).double().numpy() - y_test.astype(np.float64)
        axes = tuple(range(1, err.ndim))
        return np.abs(err).mean(axis=axes), (err**2).mean(axis=axes)

    with limit_threads(fit_threads()):
        mae, mse = fit_and_test(sets)
        if stack_trtr:
            tstr_mae, tstr_mse, trtr_mae, trtr_mse = mae[:k], mse[:k], float(mae[k]), float(mse[k])
        else:
            tstr_mae, tstr_mse = mae, mse
            trtr = fit_and_test(real_w[None, real_tr])
            trtr_mae, trtr_mse = float(trtr[0][0]), float(trtr[1][0])
    return [PredictiveScore(
        tstr_mae=float(tstr_mae[j]), trtr_mae=trtr_mae, tstr_mse=float(tstr_mse[j]), trtr_mse=trtr_mse,
        ratio=float(tstr_mae[j] / trtr_mae) if trtr_mae > 0 else math.inf, convention=setup.convention,
        cell=setup.cell, hidden=setup.hidden, layers=setup.layers, epochs=n_epochs, batch_size=setup.batch_size,
        n_real_train=int(real_tr.size), n_synthetic_train=int(syn_tr.size), n_test=int(real_te.size),
        seed=setup.seed) for j in range(k)]


def predictive_score(real: Any, synthetic: Any, *, seed: int = 0, hidden: int | None = None, layers: int = 1,
                     cell: Literal["gru", "lstm"] = "gru", epochs: int | None = None, batch_size: int | None = None,
                     lr: float = 1e-3, convention: Convention = "latentquant", train_fraction: float = 0.8,
                     gap: int | None = None, standardize: bool | None = None) -> PredictiveScore:
    """Predictive score: train on synthetic, test on real (TSTR), against the train-on-real baseline (TRTR).

    A GRU (or LSTM) regressor predicts the last step of a window from the steps before it (``"timegan"``: the last
    feature one step ahead from the other features). The same network (same initial weights, same batch positions, same
    budget) is trained once on the synthetic training windows (TSTR) and once on the real training windows (TRTR);
    both are evaluated on the real test windows. With ``synthetic`` equal to ``real`` the two coincide.

    Parameters
    ----------
    real : array-like, shape (n_real, L, F)
        Real windows in time order.
    synthetic : array-like, shape (n_synthetic, L, F)
        Synthetic windows of the same length and features; under ``"latentquant"`` the first ``train_fraction``
        of them (by position, the same rule as for the real set) train the TSTR network.
    seed : int, default 0
        Seeds the initial weights (the same for TSTR and TRTR) and the batch order: the same seed gives the same
        numbers.
    hidden : int, optional
        Hidden units (default 24; ``"timegan"``: ``max(1, F // 2)``).
    layers : int, default 1
        Stacked GRU layers.
    cell : {"gru", "lstm"}
        Recurrent cell (the book's classifier and regressor are LSTMs, TimeGAN's GRUs).
    epochs : int, optional
        Passes over the training windows (default 20; ``"timegan"``: as many as make about 5,000 steps).
    batch_size : int, optional
        Windows per step (default 64; ``"timegan"``: 128).
    lr : float, default 1e-3
        Adam learning rate.
    convention : {"latentquant", "timegan"}
        Task, split and scaling conventions (module docstring).
    train_fraction : float, default 0.8
        Share of each set's windows used for training (``"latentquant"``).
    gap : int, optional
        Windows dropped between the real training and test blocks (default ``L − 1``).
    standardize : bool, optional
        Standardise every feature with the real training windows' mean and standard deviation (default: yes, except
        under ``"timegan"``); errors are then in standardised units.

    Returns
    -------
    PredictiveScore
        ``tstr_mae``, ``trtr_mae``, ``tstr_mse``, ``trtr_mse`` and ``ratio`` = TSTR / TRTR MAE.

    Raises
    ------
    DataValidationError
        Windows not shaped ``(n, L, F)``, NaN/inf, mismatched length or features, windows shorter than 2 steps, or
        too few windows (the message says how many are needed).
    ConfigError
        An option out of range.

    See Also
    --------
    predictive_scores : the score over many synthetic draws, trained as one batched model.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(80, 6, 2))
    >>> res = predictive_score(real, real, epochs=2, hidden=4)  # synthetic = real: TSTR is TRTR
    >>> round(res.ratio, 6)
    1.0
    """
    return _predict_errors(real, synthetic, True, "synthetic", seed=seed, hidden=hidden, layers=layers, cell=cell,
                           epochs=epochs, batch_size=batch_size, lr=lr, convention=convention,
                           train_fraction=train_fraction, gap=gap, standardize=standardize)[0]


def predictive_scores(real: Any, synthetic_draws: Any, *, seed: int = 0, hidden: int | None = None,
                      layers: int = 1, cell: Literal["gru", "lstm"] = "gru", epochs: int | None = None,
                      batch_size: int | None = None, lr: float = 1e-3, convention: Convention = "latentquant",
                      train_fraction: float = 0.8, gap: int | None = None,
                      standardize: bool | None = None) -> RepeatedScores:
    """The predictive score of every synthetic draw, with mean, standard deviation and quartiles.

    The ``k`` TSTR regressors (and the TRTR baseline, which is the same for every draw and trained once) are trained
    at once as one module of stacked weights; regressor ``j`` equals the one :func:`predictive_score` trains for draw
    ``j`` with the same ``seed`` up to floating-point rounding.

    Parameters
    ----------
    real : array-like, shape (n_real, L, F)
        Real windows in time order.
    synthetic_draws : array-like, shape (k, n_synthetic, L, F), or list of k arrays (n_synthetic, L, F)
        Independent synthetic draws, all of the same shape.
    seed, hidden, layers, cell, epochs, batch_size, lr, convention, train_fraction, gap, standardize
        As in :func:`predictive_score`.

    Returns
    -------
    RepeatedScores
        ``draws`` (one :class:`PredictiveScore` each), ``mean``, ``std``, ``quartiles``, ``describe()``.

    Raises
    ------
    DataValidationError
        As :func:`predictive_score`; also draws of different shapes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(80, 6, 2))
    >>> rep = predictive_scores(real, [real, real], epochs=2, hidden=4)
    >>> rep.to_frame()["ratio"].round(6).tolist()
    [1.0, 1.0]
    """
    scores = _predict_errors(real, synthetic_draws, False, "synthetic_draws", seed=seed, hidden=hidden,
                             layers=layers, cell=cell, epochs=epochs, batch_size=batch_size, lr=lr,
                             convention=convention, train_fraction=train_fraction, gap=gap, standardize=standardize)
    return RepeatedScores(tuple(scores), _PRED_METRICS)
