"""Issue 11 §2, bounded work: scenario requests are checked against a memory budget and streamed in chunks, and
edited model directories with absurd sizes are refused before anything is allocated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.models.factor import VAEFactorModel
from latentquant.models.factor import _scenario_files as scenario_files

runner = CliRunner()


def one_error_line(res, expected: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.output
    assert res.stderr.startswith("error: " + expected), res.stderr


@pytest.fixture(scope="module")
def factor_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budgets")
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2018-01-01", periods=200)
    rets = rng.normal(0, 0.01, size=(200, 2)) @ rng.uniform(0.2, 1.5, size=(2, 5)) + rng.normal(0, 0.004, (200, 5))
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=list("ABCDE"))
    prices.rename_axis("date").to_csv(root / "prices.csv")
    res = runner.invoke(app, ["factors", "fit", "--csv", str(root / "prices.csv"), "--factors", "2", "--epochs", "3",
                              "--out", str(root / "fit"), "--quiet"])
    assert res.exit_code == 0, res.output
    return root / "fit"


# ---------------------------------------------------------------------------------------------------------------------
# factors scenarios: budget, hard cap, chunks
# ---------------------------------------------------------------------------------------------------------------------


def _no_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("scenarios were generated before the size check")

    monkeypatch.setattr(VAEFactorModel, "generate_scenarios", refuse)


def test_huge_scenario_request_is_one_line_before_generating(factor_model_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _no_generation(monkeypatch)
    out = tmp_path / "s.parquet"
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(factor_model_dir), "-n", "2000000000",
                              "--out", str(out)])
    one_error_line(res, r"-n 2000000000 is above the maximum of 50000000 scenarios for this model's 5 assets "
                        r"(74.5 GiB; the limits are 50000000 scenarios and 64 GiB); use -n 50000000 or less")
    assert not out.exists()


def test_byte_cap_names_the_maximum_n(monkeypatch: pytest.MonkeyPatch) -> None:
    from latentquant.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"^-n 2000000 is above the maximum of 1717986 scenarios for this model's "
                                          r"5000 assets \(74\.5 GiB; .*use -n 1717986 or less"):
        scenario_files.scenario_chunk_rows(2_000_000, 5000, "prior")
    assert scenario_files.scenario_chunk_rows(1000, 5, "prior") is None  # small requests: one piece, as before


def test_interpolation_above_the_budget_is_refused(factor_model_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _no_generation(monkeypatch)
    monkeypatch.setattr(scenario_files, "SCENARIO_MEMORY_BUDGET", 400)
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(factor_model_dir), "-n", "20", "--mode",
                              "interpolate", "--start", "2018-02-01", "--end", "2018-06-01",
                              "--out", str(tmp_path / "p.csv")])
    one_error_line(res, "-n 20 interpolation steps × 5 assets need 0.0 GiB, above the 3.72529e-07 GiB memory "
                        "budget; use -n 10 or less")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_large_requests_are_drawn_and_written_in_chunks(factor_model_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    monkeypatch.setattr(scenario_files, "SCENARIO_MEMORY_BUDGET", 1000)  # 25 rows of 5 assets
    monkeypatch.setattr(scenario_files, "SCENARIO_CHUNK_BYTES", 40 * 5 * 8)  # 40 rows a chunk
    sizes: list[int] = []
    original = VAEFactorModel.generate_scenarios

    def spy(self: VAEFactorModel, n: int, *args: object, **kwargs: object) -> pd.DataFrame:
        sizes.append(n)
        return original(self, n, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(VAEFactorModel, "generate_scenarios", spy)
    paths = [tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"]
    for path in paths:
        res = runner.invoke(app, ["factors", "scenarios", "--model", str(factor_model_dir), "-n", "100",
                                  "--seed", "3", "--out", str(path)])
        assert res.exit_code == 0, res.output
        assert res.stdout.startswith(f"wrote 100 prior scenarios × 5 assets to {path}; equal-weight portfolio: mean")
    assert sizes == [40, 40, 20, 40, 40, 20]  # never more than a chunk in memory
    read = pd.read_parquet if suffix == ".parquet" else lambda p: pd.read_csv(p, index_col="scenario")
    first, second = read(paths[0]), read(paths[1])
    pd.testing.assert_frame_equal(first, second)  # same seed, same file
    assert first.shape == (100, 5) and first.index.tolist() == list(range(100)) and first.index.name == "scenario"
    assert list(first.columns) == list("ABCDE") and np.isfinite(first.to_numpy()).all()
    assert not first.iloc[:40].reset_index(drop=True).equals(first.iloc[40:80].reset_index(drop=True))
    if suffix == ".parquet":
        assert pq.ParquetFile(paths[0]).num_row_groups == 3
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_chunked_nonfinite_scenarios_write_nothing(factor_model_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenario_files, "SCENARIO_MEMORY_BUDGET", 1000)
    monkeypatch.setattr(scenario_files, "SCENARIO_CHUNK_BYTES", 40 * 5 * 8)
    original = VAEFactorModel.generate_scenarios
    calls: list[int] = []

    def overflow_in_second_chunk(self: VAEFactorModel, n: int, *args: object, **kwargs: object) -> pd.DataFrame:
        calls.append(n)
        out = original(self, n, *args, **kwargs)  # type: ignore[arg-type]
        if len(calls) == 2:
            out.iloc[3, 1] = np.inf
        return out

    monkeypatch.setattr(VAEFactorModel, "generate_scenarios", overflow_in_second_chunk)
    out = tmp_path / "s.parquet"
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(factor_model_dir), "-n", "100", "--out", str(out)])
    one_error_line(res, "the scenarios hold 1 NaN/infinite values (first: scenario 43, asset 'B'); nothing was "
                        f"written to {out}.")
    assert not out.exists() and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------------------------
# saved networks: sizes checked against a parameter budget before anything is built
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building any autoencoder-family network fails the test (a refused config must not reach the constructor)."""
    from latentquant.models.autoencoder import _BaseAutoencoder

    def refuse(self: object) -> None:
        raise AssertionError("the network was built before its size was checked")

    monkeypatch.setattr(_BaseAutoencoder, "_build", refuse)


@pytest.fixture(scope="module")
def saved_vae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from latentquant.models import VAE

    return VAE(input_dim=6, latent_dim=2, hidden_dims=[8, 4], seed=0).save(tmp_path_factory.mktemp("vae") / "vae")


def _edited_vae(saved: Path, tmp_path: Path, **changes: object) -> Path:
    import json
    import shutil

    target = tmp_path / "edited"
    shutil.copytree(saved, target)
    doc = json.loads((target / "config.json").read_text())
    doc["config"].update(changes)
    (target / "config.json").write_text(json.dumps(doc))
    return target


@pytest.mark.parametrize(("changes", "msg"), [
    ({"input_dim": 1e7}, r"input_dim is 10000000\.0, not a positive integer"),
    ({"latent_dim": -2}, r"latent_dim is -2, not a positive integer"),
    ({"latent_dim": 0}, r"latent_dim is 0, not a positive integer"),
    ({"input_dim": True}, r"input_dim is True, not a positive integer"),
    ({"input_dim": "6"}, r"input_dim is '6', not a positive integer"),
    ({"hidden_dims": [8, 2.5]}, r"hidden_dims\[1\] is 2\.5, not a positive integer"),
    ({"hidden_dims": "8,4"}, r"hidden_dims is '8,4', not a list of positive integers"),
    ({"latent_dim": 10**9}, r"input_dim=6, hidden_dims=\[8, 4\], latent_dim=1000000000 describe a VAE of "
                            r"1\.4e\+10 parameters, above the limit of 1e\+08"),
    ({"hidden_dims": [3_000_000, 3_000_000]},
     r"input_dim=6, hidden_dims=\[3000000, 3000000\], latent_dim=2 describe a VAE of 1\.8e\+13 parameters"),
    ({"input_dim": 10**7}, r"input_dim=10000000, .* describe a VAE of 1\.7e\+08 parameters"),
])
def test_edited_vae_config_is_refused_before_building(saved_vae: Path, tmp_path: Path, no_build: None,
                                                      changes: dict[str, object], msg: str) -> None:
    from latentquant.exceptions import CheckpointError
    from latentquant.models import VAE

    edited = _edited_vae(saved_vae, tmp_path, **changes)
    with pytest.raises(CheckpointError, match=re_escape_path(edited / "config.json") + ": " + msg):
        VAE.load(edited)


def re_escape_path(path: Path) -> str:
    import re

    return re.escape(str(path))


def test_valid_vae_still_loads_and_counts_match(saved_vae: Path) -> None:
    import torch

    from latentquant.models import VAE, Autoencoder
    from latentquant.training.checkpoint import MAX_PARAMETERS

    loaded = VAE.load(saved_vae)
    assert VAE.parameter_count(loaded.get_config()) == sum(p.numel() for p in loaded.parameters())
    ae = Autoencoder(5, 3, [], seed=0)
    assert Autoencoder.parameter_count(ae.get_config()) == sum(p.numel() for p in ae.parameters())
    assert VAE.parameter_count({"input_dim": 3000, "latent_dim": 10, "hidden_dims": [256, 128]}) < MAX_PARAMETERS
    assert torch.equal(loaded.obs_std, torch.ones(6))


def _edit_factor_model(model_dir: Path, target: Path, key: str, value: object) -> Path:
    import json
    import shutil

    shutil.copytree(model_dir, target)
    doc = json.loads((target / "estimator.json").read_text())

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "__module__" in node:
                for pair in node["config"]["__dict__"]:
                    if pair[0] == key:
                        pair[1] = value
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(doc)
    (target / "estimator.json").write_text(json.dumps(doc))
    return target


def test_edited_factor_model_is_refused_before_building(factor_model_dir: Path, tmp_path: Path,
                                                        no_build: None) -> None:
    from latentquant.exceptions import CheckpointError

    edited = _edit_factor_model(factor_model_dir / "model", tmp_path / "model", "latent_dim", 10**9)
    with pytest.raises(CheckpointError, match=r"^the saved FactorVAE configuration: input_dim=5, hidden_dims=\[64, "
                                              r"32\], latent_dim=1000000000 describe a FactorVAE of 1\.09e\+11 "
                                              r"parameters, above the limit of 1e\+08"):
        VAEFactorModel.load(edited)
    edited = _edit_factor_model(factor_model_dir / "model", tmp_path / "model2", "input_dim", 1e7)
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(edited), "-n", "10",
                              "--out", str(tmp_path / "s.csv")])
    one_error_line(res, "the saved FactorVAE configuration: input_dim is 10000000.0, not a positive integer")
