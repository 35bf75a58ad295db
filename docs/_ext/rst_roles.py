"""Griffe extension for the docs build: the docstrings are numpydoc written with reStructuredText markup (Sphinx
roles, ``.. math::``, ``.. warning::``, literal blocks, simple tables); mkdocstrings renders Markdown. This turns
that markup into its Markdown equivalent before the docstrings are parsed, so the site shows code and formulas
instead of raw roles. The source docstrings stay as they are (they also read well in ``help()``).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

# :func:`~latentquant.data.Panel` -> `Panel`; :class:`text <target>` -> `text`; :func:`name` -> `name`
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|ref):`(~?)([^`<]*?)(?:\s*<[^`>]*>)?`")
_MATH_ROLE = re.compile(r":math:`([^`]*)`")
_DIRECTIVE = re.compile(r"^(\s*)\.\. (math|warning|note)::\s*(.*)$")
_TABLE_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2).strip()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indented_block(lines: list[str], start: int, indent: int) -> int:
    """Index one past the block of lines indented deeper than ``indent`` (blank lines included) from ``start``."""
    end = start
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end


def rst_to_markdown(text: str) -> str:
    """Translate the reStructuredText constructs used in latentquant's docstrings to Markdown."""
    text = _MATH_ROLE.sub(lambda m: rf"\({m.group(1)}\)", text)
    text = _ROLE.sub(_role, text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        if directive:
            indent, kind, argument = len(directive.group(1)), directive.group(2), directive.group(3)
            end = _indented_block(lines, i + 1, indent)
            body = textwrap.dedent("\n".join(lines[i + 1:end])).strip("\n").split("\n")
            pad = " " * indent
            if kind == "math":
                formula = [argument] if argument else []
                out += [pad + "$$", *(pad + b for b in formula + body), pad + "$$"]
            else:
                content = ([argument] if argument else []) + body
                out += [f"{pad}!!! {kind}", "", *(f"{pad}    {b}" if b else "" for b in content)]
            i = end
            continue
        if _TABLE_RULE.match(line):  # an RST simple table: show it as preformatted text
            rules = [j for j in range(i, len(lines)) if _TABLE_RULE.match(lines[j])][:3]
            end = rules[-1] + 1
            pad = line[: len(line) - len(line.lstrip())]
            out += [pad + "```text", *lines[i:end], pad + "```"]
            i = end
            continue
        if line.rstrip().endswith("::") and i + 1 < len(lines) and not lines[i + 1].strip():
            # RST literal block: "text::" + indented block -> "text:" + fenced block
            indent = len(line) - len(line.lstrip())
            end = _indented_block(lines, i + 2, indent)
            head = line.rstrip()[:-1]
            if head.strip() not in ("", ":"):
                out.append(head)
                out.append("")
            block = textwrap.dedent("\n".join(lines[i + 2:end])).split("\n")
            pad = " " * indent
            out += [pad + "```text", *(pad + b if b else "" for b in block), pad + "```"]
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RstRoles(griffe.Extension):
    """Rewrite every docstring from reStructuredText markup to Markdown (see :func:`rst_to_markdown`)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        # on_instance (not on_object) also sees the root module of each page; the docstring is final at creation
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
