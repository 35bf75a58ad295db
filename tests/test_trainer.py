import json

import numpy as np
import pytest
import torch
from torch import nn

from latentquant.exceptions import CheckpointError, ConfigError, DataValidationError, TrainingError
from latentquant.training import EarlyStopping, Trainer, TrainerConfig


def mse(model, batch):
    x, y = batch
    return {"loss": ((model(x) - y) ** 2).mean()}


def linear_data(n=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    w = torch.tensor([[1.0], [-2.0], [0.5], [0.0]])
    return X, X @ w + 0.1 * torch.randn(n, 1, generator=g)


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def test_validation_rows_are_the_final_block():
    ids = torch.arange(100, dtype=torch.float32).unsqueeze(1)
    seen = {"train": set(), "eval": set()}

    def record(model, batch):
        (x,) = batch
        seen["train" if model.training else "eval"].update(int(v) for v in x[:, 0])
        return {"loss": (model(x) ** 2).mean()}

    Trainer(epochs=2, validation_split=0.2, gap=3, batch_size=7, verbose=False).fit(nn.Linear(1, 1), record, (ids,))
    assert seen["eval"] == set(range(80, 100))
    assert seen["train"] == set(range(77))


def test_training_reduces_loss_and_records_every_term():
    X, y = linear_data()
    model = make_model()
    h = Trainer(epochs=30, lr=1e-2, verbose=False).fit(model, mse, (X, y))
    assert h["train_loss"][-1] < 0.1 * h["train_loss"][0]
    assert set(h) == {"train_loss", "val_loss", "lr"}
    assert len(h["lr"]) == len(h["train_loss"]) == len(h["val_loss"])


def test_same_seed_same_numbers_and_global_rng_untouched():
    X, y = linear_data()
    state = torch.get_rng_state()
    h1 = Trainer(epochs=5, seed=3, verbose=False).fit(m1 := make_model(), mse, (X, y))
    assert torch.equal(state, torch.get_rng_state())
    h2 = Trainer(epochs=5, seed=3, verbose=False).fit(m2 := make_model(), mse, (X, y))
    h3 = Trainer(epochs=5, seed=4, verbose=False).fit(make_model(), mse, (X, y))
    assert h1["train_loss"] == h2["train_loss"]
    assert h1["train_loss"] != h3["train_loss"]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_early_stopping_restores_best_weights():
    X, y = linear_data(200)
    # validation targets are pure noise unrelated to X: validation loss worsens as the fit improves
    y_val = torch.randn(50, 1) * 5
    model = make_model()
    trainer = Trainer(epochs=200, lr=5e-2, patience=3, verbose=False)
    X_val = torch.randn(50, 4)
    h = trainer.fit(model, mse, (X, y), (X_val, y_val))
    assert h.stopped_early
    assert len(h["val_loss"]) == h.best_epoch + 1 + 3
    assert min(h["val_loss"]) == h["val_loss"][h.best_epoch]
    # the model holds the best epoch's weights: its validation loss is the best one recorded
    assert trainer.evaluate(model, mse, (X_val, y_val))["loss"] == pytest.approx(min(h["val_loss"]), rel=1e-5)


def test_early_stopping_utility_restores():
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=1)
    stopper.step(1.0, model)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    assert stopper.step(2.0, model) is True
    assert stopper.restore(model)
    assert torch.equal(model.weight, best["weight"])


def test_nan_loss_raises_with_epoch_and_batch():
    X, y = linear_data(64)

    calls = []

    def bad(model, batch):
        calls.append(1)
        loss = mse(model, batch)["loss"]
        return {"loss": loss * float("nan") if len(calls) == 6 else loss}  # 4 batches per epoch: epoch 2, batch 2

    with pytest.raises(TrainingError, match=r"the loss is nan at epoch 2, batch 2\. Lower the learning rate"):
        Trainer(epochs=3, batch_size=16, validation_split=0, early_stopping=False, verbose=False, shuffle=False).fit(make_model(), bad, (X, y))


def test_lr_schedule_hook_is_applied():
    X, y = linear_data(64)
    h = Trainer(epochs=3, lr=1e-2, verbose=False,
                lr_schedule=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)).fit(
        make_model(), mse, (X, y))
    np.testing.assert_allclose(h["lr"], [1e-2, 5e-3, 2.5e-3])


def test_resume_matches_uninterrupted_run(tmp_path):
    X, y = linear_data(300)
    full = Trainer(epochs=8, seed=1, verbose=False, early_stopping=False)
    h_full = full.fit(m_full := make_model(), mse, (X, y))
    # first run stops after 4 epochs (simulated interruption), second resumes to 8
    ckpt = str(tmp_path / "ckpt")
    Trainer(epochs=4, seed=1, verbose=False, early_stopping=False, checkpoint_dir=ckpt).fit(make_model(), mse, (X, y))
    h_res = Trainer(epochs=8, seed=1, verbose=False, early_stopping=False, checkpoint_dir=ckpt).fit(
        m_res := make_model(), mse, (X, y), resume=True)
    np.testing.assert_allclose(h_res["train_loss"], h_full["train_loss"], rtol=0, atol=0)
    for a, b in zip(m_full.state_dict().values(), m_res.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_corrupted_training_state(tmp_path):
    (tmp_path / "trainer_state.pt").write_bytes(b"not a checkpoint")
    X, y = linear_data(32)
    with pytest.raises(CheckpointError, match="is corrupted or was not written by latentquant"):
        Trainer(epochs=1, checkpoint_dir=str(tmp_path), verbose=False).fit(make_model(), mse, (X, y), resume=True)


def test_bad_options_and_data():
    with pytest.raises(ConfigError, match=r"Unknown Trainer option\(s\) \['epoch'\]"):
        Trainer(epoch=3)
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1, got 0"):
        Trainer(batch_size=0)
    with pytest.raises(ConfigError, match="lr must be a positive float"):
        Trainer(TrainerConfig(lr=-1.0))
    X, y = linear_data(32)
    with pytest.raises(DataValidationError, match=r"train\[1\] has 31 rows but train\[0\] has 32"):
        Trainer(verbose=False).fit(make_model(), mse, (X, y[:31]))
    X[5, 2] = float("nan")
    with pytest.raises(DataValidationError, match=r"train\[0\] has a NaN or infinite value at row 5, column 2"):
        Trainer(verbose=False).fit(make_model(), mse, (X, y))


def test_verbose_lines_when_not_a_terminal(capsys):
    X, y = linear_data(64)
    Trainer(epochs=2, verbose=True).fit(make_model(), mse, (X, y))
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err
    Trainer(epochs=2, verbose=None).fit(make_model(), mse, (X, y))
    assert capsys.readouterr().err == ""


def test_history_to_dict_is_json():
    X, y = linear_data(64)
    h = Trainer(epochs=2, verbose=False).fit(make_model(), mse, (X, y))
    assert json.loads(json.dumps(h.to_dict()))["history"]["train_loss"] == h["train_loss"]


def test_history_round_trips_through_from_dict_and_estimator_persistence():
    from latentquant.base import _Decoder, _Encoder
    from latentquant.training import History

    X, y = linear_data(64)
    h = Trainer(epochs=3, patience=1, verbose=False).fit(make_model(), mse, (X, y))
    again = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert isinstance(again, History) and again == h and again.to_dict() == h.to_dict()
    # a fitted estimator holding a History saves it through the registered codec (JSON, no pickle)
    enc = _Encoder()
    doc = json.loads(json.dumps(enc.encode({"history_": h})))
    restored = _Decoder(enc.arrays, enc.tensors).decode(doc)["history_"]
    assert type(restored) is History and restored.to_dict() == h.to_dict()
    assert (restored.best_epoch, restored.seconds) == (h.best_epoch, h.seconds)


def test_unseeded_runs_differ_and_reverse_ordered_dates_are_rejected():
    import pandas as pd

    X, y = linear_data(64)
    # identical initial weights; without a seed the batch order (8 batches per epoch) differs between runs
    h1 = Trainer(epochs=2, batch_size=8, seed=None, verbose=False).fit(make_model(0), mse, (X, y))
    h2 = Trainer(epochs=2, batch_size=8, seed=None, verbose=False).fit(make_model(0), mse, (X, y))
    assert h1["train_loss"] != h2["train_loss"]
    frame = pd.DataFrame(X.numpy(), index=pd.date_range("2020-01-01", periods=64)[::-1])
    with pytest.raises(DataValidationError, match=r"rows are not in time order .* data.sort_index\(\)"):
        Trainer(verbose=False).fit(make_model(), mse, (frame, y))


def test_early_stopping_without_validation_scores_end_of_epoch_weights():
    X, y = linear_data(128)
    model = make_model()
    trainer = Trainer(epochs=40, lr=5e-2, patience=3, validation_split=0, verbose=False)
    h = trainer.fit(model, mse, (X, y))
    assert "val_loss" not in h and h.restored_best
    # the kept weights are the best end-of-epoch weights: no recorded epoch scores below them on the training rows
    assert trainer.evaluate(model, mse, (X, y))["loss"] <= min(h["train_loss"]) * 1.5
