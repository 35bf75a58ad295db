"""The VAE returns study: reproducible, causal (no look-ahead), honest about its inputs."""

import numpy as np
import pandas as pd
import pytest

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments import VAEReturnsConfig, run_vae_returns


def write_prices(path, shock_after=None, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=300)
    f = rng.normal(0, 0.01, size=(300, 2))
    rets = f @ rng.uniform(0.2, 1.5, size=(2, 5)) + rng.normal(0, 0.004, size=(300, 5))
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=list("ABCDE"))
    if shock_after is not None:
        prices.loc[prices.index > shock_after] *= np.linspace(1, 3, (prices.index > shock_after).sum())[:, None]
    prices.rename_axis("date").to_csv(path)
    return path


def config(path, out, **kw):
    base = dict(data=None, path=str(path), train_end="2018-10-31", latent_dim=2, hidden_dims=[8], epochs=4,
                seeds=[0, 1], n_scenarios=200, out=str(out), verbose=False)
    base.update(kw)
    return VAEReturnsConfig(**base)


def test_same_seed_same_numbers(tmp_path):
    p = write_prices(tmp_path / "p.csv")
    a = run_vae_returns(config(p, tmp_path / "a"))
    b = run_vae_returns(config(p, tmp_path / "b"))
    assert a.metrics["per_seed"] == b.metrics["per_seed"]
    pd.testing.assert_frame_equal(a.scenario_table, b.scenario_table)
    pd.testing.assert_frame_equal(a.latent_mean, b.latent_mean)


def test_perturbing_the_test_span_leaves_the_training_span_unchanged(tmp_path):
    calm = run_vae_returns(config(write_prices(tmp_path / "p1.csv"), tmp_path / "a"))
    shocked = run_vae_returns(config(write_prices(tmp_path / "p2.csv", shock_after="2018-10-31"), tmp_path / "b"))
    train_idx = calm.latent_mean.index[calm.latent_mean.index <= "2018-10-31"]
    pd.testing.assert_frame_equal(calm.latent_mean.loc[train_idx], shocked.latent_mean.loc[train_idx])
    assert [r["train_r2"] for r in calm.metrics["per_seed"]] == [r["train_r2"] for r in shocked.metrics["per_seed"]]
    assert calm.metrics["anomaly_threshold"] == shocked.metrics["anomaly_threshold"]
    assert calm.metrics["vae_test_r2_mean"] != shocked.metrics["vae_test_r2_mean"]


def test_result_tables_and_summary(tmp_path):
    r = run_vae_returns(config(write_prices(tmp_path / "p.csv"), tmp_path / "a"))
    assert list(r.r2_table.columns) == ["train R²", "test R²", "test R² std (seeds)", "n"]
    assert r.scenario_table.loc["historical test span", "corr_distance"] == pytest.approx(0.0, abs=1e-12)
    assert (r.latent_std.to_numpy() > 0).all()
    assert "n=2 seeds" in r.summary()


def test_config_errors(tmp_path):
    p = write_prices(tmp_path / "p.csv")
    with pytest.raises(ConfigError, match="Give exactly one data source"):
        run_vae_returns(config(p, tmp_path / "a", data="sp500_stocks"))
    with pytest.raises(ConfigError, match="input must be 'prices' or 'returns'"):
        run_vae_returns(config(p, tmp_path / "a", input="levels"))
    with pytest.raises(DataValidationError, match="The training span has 7 rows; at least 20 are needed"):
        run_vae_returns(config(p, tmp_path / "a", train_end="2018-01-10"))
