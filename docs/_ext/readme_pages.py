"""mkdocs hook: guide pages made of README sections, so that the README stays the one copy of the quickstarts; and
the table of the top-level names (``{{ exports }}``), built from ``latentquant._EXPORTS``.

A page line ``{{ readme "Python quickstart" }}`` is replaced by the body of the README's ``## Python quickstart``
section (``{{ readme "intro" }}``: the text between the title and the first ``##`` heading). In the included text,
``###`` headings become ``##`` (the page has its own ``#`` title), links to README anchors point at the page that
includes that section, and links to repository files (which are not part of the site) become plain text. A missing
section fails the build with the names of the sections that exist.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

README = Path(__file__).resolve().parents[2] / "README.md"
_DIRECTIVE = re.compile(r'^\{\{\s*readme\s+"([^"]+)"\s*\}\}\s*$', re.M)
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")

# README section -> docs page that includes it (filled in on_files from the pages' directives)
_SECTION_PAGE: dict[str, str] = {}


def _slug(title: str) -> str:
    """GitHub's heading anchor (what the README's own links use)."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _sections(text: str) -> dict[str, str]:
    """``{title: body}`` of the README's ``##`` sections, plus ``"intro"`` (before the first ``##``)."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    intro = re.sub(r"\A# .*\n", "", parts[0])
    sections = {"intro": intro}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip()] = body
    return sections


def _anchor_targets(sections: dict[str, str]) -> dict[str, tuple[str, str]]:
    """README anchor -> (section, anchor on the page): ``##`` anchors map to the page, ``###`` to the heading."""
    targets: dict[str, tuple[str, str]] = {}
    for title, body in sections.items():
        targets[_slug(title)] = (title, "")
        for sub in re.findall(r"^### (.+)$", body, flags=re.M):
            targets[_slug(sub)] = (title, _slug(sub))
    return targets


def _rewrite_links(body: str, page_path: str, targets: dict[str, tuple[str, str]]) -> str:
    def replace(match: re.Match[str]) -> str:
        text, url = match.group(1), match.group(2)
        if re.match(r"^[a-z]+://", url):
            return match.group(0)
        if url.startswith("#"):
            section, anchor = targets.get(url[1:], ("", ""))
            page = _SECTION_PAGE.get(section)
            if page is None:
                return text  # the section is not on the site
            rel = "" if page == page_path else posixpath.relpath(page, posixpath.dirname(page_path) or ".")
            return f"[{text}]({rel}{'#' + anchor if anchor else ''})" if rel or anchor else text
        return text  # a repository file: not part of the site

    return _LINK.sub(replace, body)


def on_files(files: Files, config: Any) -> Files:
    _SECTION_PAGE.clear()
    for file in files.documentation_pages():
        for section in _DIRECTIVE.findall(Path(file.abs_src_path).read_text(encoding="utf-8")):
            _SECTION_PAGE.setdefault(section, file.src_uri)
    return files


def _exports_table() -> str:
    """Markdown table: every ``lq.<name>``, linked to its entry in the API page of the package it comes from."""
    import latentquant

    rows = ["| name | from |", "|---|---|"]
    for name in latentquant.__all__:
        module = latentquant._EXPORTS[name]
        rows.append(f"| [`lq.{name}`][{module}.{name}] | [`{module}`][{module}] |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    if "{{ exports }}" in markdown:
        markdown = markdown.replace("{{ exports }}", _exports_table())
    if not _DIRECTIVE.search(markdown):
        return markdown
    sections = _sections(README.read_text(encoding="utf-8"))
    targets = _anchor_targets(sections)

    def include(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in sections:
            raise PluginError(f"{page.file.src_uri}: README.md has no section {name!r}; sections: "
                              f"{', '.join(repr(s) for s in sections)}. Update the page or the README heading.")
        body = re.sub(r"^### ", "## ", sections[name], flags=re.M)
        return _rewrite_links(body.strip("\n"), page.file.src_uri, targets)

    return _DIRECTIVE.sub(include, markdown)
