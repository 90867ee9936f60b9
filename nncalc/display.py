"""Jupyter's rich display for nncalc's data classes, in one mixin.

A :class:`~nncalc.engine.Solution`, a training :class:`~nncalc.training.Run` and a
:class:`~nncalc.results.StudentResult` show in a notebook as HTML (or Markdown). The data
classes live below the presentation tier and must not import it, so this module imports
nothing of nncalc: :class:`NotebookDisplay` finds :mod:`nncalc.notebook` by its name, only
when a notebook asks for a view.
"""

from __future__ import annotations

import importlib

#: The presentation module that renders every view (looked up by name, see NotebookDisplay).
NOTEBOOK_MODULE = "nncalc.notebook"


class NotebookDisplay:
    """Mixin: Jupyter shows the object as ``nncalc.notebook.html(self)`` (or ``markdown``).

    The module is reached with :func:`importlib.import_module` by its name, a deliberate
    late binding: a data class never imports presentation (no import circle, and neither
    Rich nor the renderers load until a notebook displays something). Every renderer is
    chosen by type in :mod:`nncalc.notebook`.
    """

    def _repr_html_(self) -> str:
        html: str = importlib.import_module(NOTEBOOK_MODULE).html(self)
        return html

    def _repr_markdown_(self) -> str:
        markdown: str = importlib.import_module(NOTEBOOK_MODULE).markdown(self)
        return markdown
