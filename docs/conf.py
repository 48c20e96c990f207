"""Sphinx configuration of the sidmft documentation.

Build (from the repository root)::

    python3 -m pip install -e ".[docs]" && python3 -m sphinx -W --keep-going -b html docs docs/_build/html

Environment variables:

``SIDMFT_DOCS_GALLERY=0``
    Do not execute the examples (the gallery pages are made without their output and figures).
``SIDMFT_DOCS_SCRATCH=DIR``
    Where the examples write their files (default: a fresh temporary directory).
``SIDMFT_DOCS_RAW_DOCSTRINGS=1``
    Do not escape ``|x|`` in docstrings nor show the listed invalid module docstrings verbatim
    (``_sidmft_docs.py``): lists the docstrings that still need fixing.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _sidmft_docs (gallery helpers)
sys.path.insert(0, str(HERE.parent / "src"))  # the package, also without an install

import sidmft  # noqa: E402

project = "sidmft"
author = "sidmft developers"
copyright = "sidmft developers, BSD-3-Clause"
release = sidmft.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_click",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "img",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
]
templates_path = ["_templates"]

# -- Markdown (MyST) ----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- API reference ------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # dataclass attributes are listed in the docstrings
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# -- Gallery ------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # execute every example (they are short with --quick)
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "_sidmft_docs.reset_argv",  # runs each example with --quick and a scratch directory
    "plot_gallery": os.environ.get("SIDMFT_DOCS_GALLERY", "1") != "0",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,
    "matplotlib_animations": False,
}

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"sidmft {release}"
html_static_path: list = []
html_show_sourcelink = False
smartquotes = False  # keep "--json" in command help as typed (no en dash)


def setup(app):
    import _sidmft_docs

    _sidmft_docs.setup(app)
