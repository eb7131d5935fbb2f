"""MkDocs hooks: the pages generated at build time, and the checks that fail the build.

Generated: the API reference (every public name), the schedule gallery's
plots, the command-line reference, the benchmark figure, the signatures on
each optimiser family page, and a page for optimisers without a family page.
Checked (a failure raises, so even a plain ``mkdocs build`` stops): every
public name has exactly one entry and mkdocstrings rendered it; every family
page's optimisers are public and named in its text.
"""

from __future__ import annotations

import os
import pathlib
import sys

# Kept on the path: mkdocstrings loads the griffe extension later, and it imports docgen_roles.
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("MPLBACKEND", "Agg")

import docgen_api  # noqa: E402
import docgen_cli  # noqa: E402
import docgen_families  # noqa: E402
import docgen_gallery  # noqa: E402
from docgen_roles import rewrite  # noqa: E402
from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.structure.files import File  # noqa: E402

ROOT = HERE.parent.parent
BENCHMARK_FIGURE = ROOT / "benchmarks" / "results" / "ratios.png"
GALLERY_PAGE = "schedules/gallery.md"

_state: dict = {}


def on_config(config):
    try:
        pages = docgen_api.api_pages()
        docgen_api.check_coverage(pages)
        gallery = docgen_gallery.gallery_specs()
    except ValueError as error:
        raise PluginError(str(error)) from error
    _state.update(pages=pages, gallery=gallery, unclaimed=docgen_families.unclaimed(), missing=[])
    _fill_nav(config["nav"], "API reference", docgen_api.nav(pages))
    if _state["unclaimed"]:
        _append_nav(
            config["nav"], "Optimisers", {"More optimisers": docgen_families.UNCLAIMED_PAGE}
        )
    return config


def _section(nav, title):
    for item in nav:
        if isinstance(item, dict) and title in item:
            return item
    raise PluginError(f"mkdocs.yml: the nav has no section {title!r}")


def _fill_nav(nav, title, items):
    _section(nav, title)[title] = items


def _append_nav(nav, title, item):
    section = _section(nav, title)
    section[title] = [*section[title], item]


def on_files(files, config):
    for page in _state["pages"]:
        page.intro = rewrite(page.intro, page.module or "fromax")
        files.append(File.generated(config, page.path, content=page.markdown()))
    files.append(
        File.generated(config, "api/index.md", content=docgen_api.index_page(_state["pages"]))
    )
    if _state["unclaimed"]:
        content = docgen_families.unclaimed_markdown(_state["unclaimed"])
        files.append(File.generated(config, docgen_families.UNCLAIMED_PAGE, content=content))
    folder = GALLERY_PAGE.removesuffix(".md")
    for name, spec, steps in _state["gallery"]:
        png = docgen_gallery.plot_png(spec, steps)
        files.append(File.generated(config, f"{folder}/{name}.png", content=png))
    if not BENCHMARK_FIGURE.exists():
        raise PluginError(f"{BENCHMARK_FIGURE} is missing: run `make bench` to draw it")
    files.append(
        File.generated(config, "benchmarks/ratios.png", abs_src_path=str(BENCHMARK_FIGURE))
    )
    return files


_GENERATED = {
    "<!-- generated: cli -->": lambda: docgen_cli.cli_markdown(),
    "<!-- generated: optimizers listing -->": lambda: docgen_cli.optimizers_listing(),
    "<!-- generated: schedule gallery -->": lambda: docgen_gallery.gallery_markdown("gallery"),
}


def on_page_markdown(markdown, page, config, files):
    for marker, make in _GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    names = page.meta.get("optimizers")
    if names:
        problems = docgen_families.check_family_page(page.file.src_uri, names, markdown)
        if problems:
            raise PluginError("; ".join(problems))
        markdown = markdown.rstrip() + "\n\n" + docgen_families.signatures_markdown(names)
    return markdown


def on_post_page(output, page, config):
    # mkdocstrings gives each rendered object a heading whose id is its identifier.
    for api_page in _state["pages"]:
        if api_page.path == page.file.src_uri:
            wanted = [e.identifier for e in api_page.entries] + [api_page.module]
            for identifier in filter(None, wanted):
                if f'id="{identifier}"' not in output:
                    _state["missing"].append(f"{identifier} (on {api_page.path})")
    return output


def on_post_build(config):
    if _state["missing"]:
        raise PluginError(f"API entries not rendered: {', '.join(_state['missing'])}")
