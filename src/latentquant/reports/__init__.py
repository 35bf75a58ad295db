"""Figures, tables and self-contained HTML reports (no model code here)."""

from latentquant.reports.formatting import format_mean_std
from latentquant.reports.rundir import RunDirectory, data_fingerprint, environment_info, to_markdown

__all__ = ["RunDirectory", "data_fingerprint", "environment_info", "format_mean_std", "to_markdown"]
