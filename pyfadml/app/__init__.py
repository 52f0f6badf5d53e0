"""The Panel app: one page, one section per part of the lecture.

``create_app()`` returns the page (a Panel layout: ``.servable()``, ``.server_doc(doc)``); the offline site
runs it in Pyodide and ``panel serve pyfadml/app/serve.py`` runs it natively. The sections' state lives in
``pn.viewable.Viewer`` classes (:mod:`pyfadml.app.backprop`, ...); their logic lives in
:mod:`pyfadml.demos`, which never imports Panel.
"""
from __future__ import annotations


def create_app(section: str | None = None):
    """The whole app as a Panel layout, showing ``section`` (a key of the shell's sections) first."""
    from pyfadml.app.shell import AppShell

    shell = AppShell(**({"section": section} if section else {}))
    return shell.__panel__()


__all__ = ["create_app"]
