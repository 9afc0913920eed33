"""The report as one HTML page: the executed notebook exported by nbconvert, without code, opening offline.

The template (``cashsim/report/templates/cashsim_report``) is nbconvert's ``lab`` template without its require.js
and MathJax ``<script>`` tags, which would be fetched from a CDN and, for require.js, turn plotly.js into an AMD
module the figures do not find; the MathJax ``<script src>`` plotly adds to every figure is removed too. Cells
tagged with one of :data:`HIDDEN_TAGS` (the parameters and the machine-readable summary) are left out. The page
makes no request outside itself (the browser test checks).

Customer names are data: report tables go through :func:`cashsim.fmt.table` (HTML-escaped), figures through
plotly's JSON (which escapes ``<``), so a customer named ``<script>`` shows as text.

Example::

    >>> page = export_html(nbformat.read("cashsim-report-2026-11.ipynb", 4), "Atelier - 2026-11")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cashsim.report.resources import template_dir

if TYPE_CHECKING:  # nbconvert (and nbformat) are imported on use: the report's kernel imports this module too
    import nbformat

#: Cells with these tags are not in the HTML (the parameters, and the machine-readable summary).
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove_cell", "summary"})
#: plotly's notebook renderer adds a MathJax <script src> from a CDN to every figure; the report has no LaTeX.
_PLOTLY_MATHJAX = re.compile(r'<script src="https://cdn[a-z.]*/ajax/libs/mathjax/[^"]*"></script>')


def html_exporter(language: str = "fr", *, warm: bool = False):
    """nbconvert's HTML exporter of the report (template, no code, the hidden cells removed); ``warm``: its
    templates loaded and compiled, by exporting a one-cell notebook once. The report's run builds a warm one in a
    thread while the notebook runs, so the export of the finished notebook does not wait for that (0.15 s)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="cashsim_report", extra_template_basedirs=[str(template_dir())],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            language_code=language)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=set(HIDDEN_TAGS), enabled=True),
                                   enabled=True)
    if warm:
        output = nbformat.v4.new_output("display_data", data={"text/html": "<p>-</p>", "text/plain": "-"})
        exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=[output])]),
                                    resources={"metadata": {"name": ""}})
    return exporter


def export_html(notebook: nbformat.NotebookNode, title: str, language: str = "fr", exporter=None) -> str:
    """The executed notebook as one HTML page without code, prompts, parameters or the summary cell.

    ``language`` (``fr``) goes into ``<html lang>``, so the browser hyphenates and reads figures the local way.
    ``exporter``: one :func:`html_exporter` made for that language (else one is made now).
    """
    exporter = exporter if exporter is not None else html_exporter(language)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return _PLOTLY_MATHJAX.sub("", body)
