"""Sphinx configuration of the course website: ``bash scripts/build_site.sh OUT`` builds it from the
sources ``scripts/site_source.py`` lays out (the executed notebooks' stored outputs, never re-run).

Offline by construction: the theme's files and MathJax (``sphinx-mathjax-offline``) are copied into
the site, widgets load no script, and ``scripts/site_check.py`` fails on a page that asks for
anything outside it. The repository's address and tag come from ``scripts/links.py``.
"""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import links  # noqa: E402

project = "loopvalley"
html_title = "loopvalley: a course on looped transformers"
copyright = "2026, the loopvalley authors (MIT License)"
root_doc = "notebooks/00_start_here"  # the syllabus is the landing page; /index.html redirects to it

extensions = ["myst_nb", "sphinx-mathjax-offline"]  # the latter sets mathjax_path to its local copy
nb_execution_mode = "off"  # the stored outputs of the executed notebooks, as they are
nb_merge_streams = True  # one block per cell for its printed lines, as JupyterLab shows them
nb_ipywidgets_js = {}  # no widget manager from a CDN (site_source.py turns widgets into notes)
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
myst_heading_slug_func = "site_source.jupyterlab_anchor"  # the notebooks' links: 00_start_here.ipynb#Glossary

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": links.home_url(),
    "repository_branch": links.REF,
    "path_to_docs": "",  # the site's sources mirror the repository's paths
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {  # Binder and Colab, at links.binder_url / links.colab_url of the page's notebook
        "notebook_interface": "jupyterlab",
        "binderhub_url": links.binder_url().split("/v2/gh/")[0],
        "colab_url": links.colab_url("x").split("/github/")[0],
    },
}
html_static_path = ["_static"]
html_css_files = ["site.css"]


def finish(app, exc):
    """``index.html``, the site's front door, opens the syllabus; the download button gives the
    repository's own notebooks (the site's copies have notes in place of widgets)."""
    if exc is not None:
        return
    out = Path(app.outdir)
    if not (out / "index.html").exists():
        (out / "index.html").write_text(
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html_title}</title>\n'
            f'<meta http-equiv="refresh" content="0; url={root_doc}.html"></head>\n'
            f'<body><a href="{root_doc}.html">Start here: the syllabus</a></body></html>\n')
    for nb in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        if (out / "_sources" / "notebooks" / nb.name).exists():
            shutil.copy2(nb, out / "_sources" / "notebooks" / nb.name)


def setup(app):
    app.connect("build-finished", finish)
