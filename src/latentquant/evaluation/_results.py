"""The ``summary()`` / ``to_dict()`` of the frozen result dataclasses of :mod:`latentquant.evaluation` (one copy)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from latentquant.validation import Options, check_arg

__all__ = ["FieldsResult"]


class FieldsResult:
    """Mixin of a frozen result dataclass whose ``__str__`` is a one-line verdict: ``to_dict()`` (every field as a
    plain Python value) and ``summary()`` (the verdict followed by every field). ``_title`` names the table."""

    _title: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain Python value (JSON-ready)."""
        fields: dict[str, Any] = asdict(self)  # type: ignore[call-overload]
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in fields.items()}

    def summary(self, fmt: Literal["text", "html", "latex"] = "text") -> str:
        """The one-line verdict followed by every field, as text, an HTML table or a LaTeX table."""
        check_arg("fmt", fmt, Options("text", "html", "latex"))
        values = self.to_dict()
        table = pd.DataFrame({"value": [f"{v:.4g}" if isinstance(v, float) else str(v) for v in values.values()]},
                             index=list(values))
        table.index.name = self._title
        if fmt == "html":
            return f"<p>{self}</p>\n{table.to_html()}"
        if fmt == "latex":
            return table.to_latex()
        return f"{self}\n{table.to_string()}"
