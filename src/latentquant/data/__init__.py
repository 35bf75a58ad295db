"""Containers, transforms and time-ordered splits for market data."""

from latentquant.data.characteristics import CHARACTERISTICS, bundled_price_panel, price_characteristics
from latentquant.data.gaussianize import LambertWGaussianizer, lambert_w_tail
from latentquant.data.panel import Panel, managed_portfolios, rank_transform
from latentquant.data.panel_io import read_gkx_panel
from latentquant.data.portfolios import decile_long_short, portfolio_level
from latentquant.data.returns import log_returns, simple_returns
from latentquant.data.scaling import Standardizer
from latentquant.data.simulate import SimulatedPanel, simulate_panel
from latentquant.data.splits import (
    HoldoutSplit,
    WalkForwardSplit,
    YearlyWindow,
    YearlyWindows,
    split_by_date,
    tail_split,
)
from latentquant.data.windows import Windows, WindowSplit, sliding_windows, window_split

__all__ = [
    "CHARACTERISTICS",
    "HoldoutSplit",
    "LambertWGaussianizer",
    "Panel",
    "SimulatedPanel",
    "Standardizer",
    "WalkForwardSplit",
    "WindowSplit",
    "Windows",
    "YearlyWindow",
    "YearlyWindows",
    "bundled_price_panel",
    "decile_long_short",
    "lambert_w_tail",
    "log_returns",
    "managed_portfolios",
    "portfolio_level",
    "price_characteristics",
    "rank_transform",
    "read_gkx_panel",
    "simple_returns",
    "simulate_panel",
    "sliding_windows",
    "split_by_date",
    "tail_split",
    "window_split",
]
