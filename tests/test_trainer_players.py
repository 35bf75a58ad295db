"""Several objectives in one Trainer (adversarial training): a moment-matching game whose equilibrium is known is
solved, each player steps only its own parameters on its own schedule, a resumed run equals an uninterrupted one,
and every misuse is a named ConfigError."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from latentquant.exceptions import ConfigError
from latentquant.training import Player, Trainer

LAM = 0.5  # the critic's L2 penalty: makes the game strongly concave in the critic


class Game(nn.Module):
    """Generator a·z + b against a critic w·(x, x²): the critic's best reply is w = (moments gap) / (2 λ), so the
    generator's equilibrium matches the first two moments of the data."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.gen = nn.Linear(1, 1)
        self.critic = nn.Linear(2, 1, bias=False)


def _features(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, x * x], dim=1)


def critic_loss(m: Game, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
    (x,) = batch
    fake = m.gen(torch.randn_like(x)).detach()
    gap = m.critic(_features(x)).mean() - m.critic(_features(fake)).mean()
    return {"loss": -gap + LAM * (m.critic.weight**2).sum(), "gap": gap}


def generator_loss(m: Game, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
    (x,) = batch
    return {"loss": -m.critic(_features(m.gen(torch.randn_like(x)))).mean()}


def _players(every: int = 5) -> list[Player]:
    """The critic fast (lr 0.1, every batch), the generator slow (lr 0.01, every 5th batch): with the critic near its
    best reply the generator descends the moment gap (equal rates cycle around the equilibrium instead)."""
    return [Player("critic", critic_loss, lambda m: m.critic.parameters(), lr=0.1),
            Player("generator", generator_loss, lambda m: m.gen.parameters(), every=every, lr=0.01, betas=(0.5, 0.9))]


def _real(n: int = 4096) -> torch.Tensor:
    return 1.0 + 0.5 * torch.randn(n, 1, generator=torch.Generator().manual_seed(1))


def _trainer(**kw) -> Trainer:
    return Trainer(**{"epochs": 60, "batch_size": 128, "validation_split": 0.0, "early_stopping": False,
                      "verbose": False, **kw})


@pytest.mark.parametrize("seed", [0, 3])
def test_the_game_reaches_its_equilibrium(seed):
    model = Game()
    history = _trainer(seed=seed).fit(model, _players(), (_real(),))
    # the data are N(1, 0.5²): measured (1.006, 0.510) and (0.985, 0.495)
    assert float(model.gen.bias.detach()) == pytest.approx(1.0, abs=0.05)
    assert abs(float(model.gen.weight.detach())) == pytest.approx(0.5, abs=0.05)
    assert set(history) >= {"train_critic_loss", "train_critic_gap", "train_generator_loss", "lr"}
    assert len(history["train_generator_loss"]) == 60
    assert abs(history["train_critic_gap"][-1]) < 0.05  # the critic can no longer tell them apart


def test_each_player_steps_its_own_parameters_on_its_own_batches():
    calls = {"critic": 0, "generator": 0}

    def counted(name, fn):
        def loss(m, batch):
            calls[name] += 1
            return fn(m, batch)
        return loss

    players = [Player("critic", counted("critic", critic_loss), lambda m: m.critic.parameters()),
               Player("generator", counted("generator", generator_loss), lambda m: m.gen.parameters(), every=3)]
    _trainer(epochs=2, batch_size=100).fit(Game(), players, (_real(1000),))  # 10 batches an epoch
    assert calls == {"critic": 20, "generator": 8}  # batches 0, 3, 6, 9 of each epoch
    # a generator at lr = 0 does not move while the critic learns
    model = Game()
    before = [p.detach().clone() for p in model.gen.parameters()]
    frozen = [_players()[0], Player("generator", generator_loss, lambda m: m.gen.parameters(), lr=0.0)]
    _trainer(epochs=2).fit(model, frozen, (_real(),))
    assert all(torch.equal(a, b) for a, b in zip(before, model.gen.parameters(), strict=True))
    assert float(model.critic.weight.detach().abs().sum()) > 0.01


def test_resume_continues_exactly(tmp_path):
    straight = Game()
    _trainer(epochs=6, seed=3).fit(straight, _players(2), (_real(),))
    first = Game()
    _trainer(epochs=3, seed=3, checkpoint_dir=str(tmp_path)).fit(first, _players(2), (_real(),))
    resumed = Game()
    history = _trainer(epochs=6, seed=3, checkpoint_dir=str(tmp_path)).fit(resumed, _players(2), (_real(),),
                                                                          resume=True)
    assert len(history["train_critic_loss"]) == 6
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize(("trainer_kw", "players", "message"), [
    ({"validation_split": 0.2}, _players(), "no single loss to validate, stop early or schedule on"),
    ({"early_stopping": True}, _players(), "no single loss to validate"),
    ({}, [Player("a", critic_loss, lambda m: m.critic.parameters()),
          Player("a", generator_loss, lambda m: m.gen.parameters())], "Player names must be distinct"),
    ({}, [Player("critic", critic_loss, lambda m: m.parameters()),
          Player("generator", generator_loss, lambda m: m.gen.parameters())],
     "Player 'generator' shares parameters with an earlier player"),
    ({}, [Player("critic", critic_loss, lambda m: m.critic.parameters(), every=0)], "every must be an integer >= 1"),
    ({}, [], "a non-empty list of Player objectives"),
    ({}, [Player("critic", critic_loss, lambda m: m.critic.parameters(), lr=-1.0)],
     "Player 'critic': lr must be None or a float >= 0 and betas two floats in [0, 1)"),
])
def test_misuse_is_a_named_config_error(trainer_kw, players, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _trainer(**trainer_kw).fit(Game(), players, (_real(256),))
