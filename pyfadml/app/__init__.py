"""The Panel app: one page, one section per part of the lecture.

``create_app()`` returns the page (a Panel layout: ``.servable()``, ``.server_doc(doc)``); the offline site
runs it in Pyodide and ``panel serve pyfadml/app/serve.py`` runs it natively. The sections' state lives in
``pn.viewable.Viewer`` classes (:mod:`pyfadml.app.backprop`, ...); their logic lives in
:mod:`pyfadml.demos`, which never imports Panel.
"""
from __future__ import annotations


def create_app(section: str | None = None, scene: str | None = None):
    """The whole app as a Panel layout, showing ``section`` (a key of the shell's sections) first.

    ``scene`` is the page address's fragment (``"cnn&lr=0.03"``, see :mod:`pyfadml.app.scene`); by default the
    environment variable ``PYFADML_SCENE``, which the offline site's worker sets from the page's address.
    """
    import os

    from pyfadml.app.shell import AppShell

    if scene is None:
        scene = os.environ.get("PYFADML_SCENE", "")
    shell = AppShell(scene=scene, **({"section": section} if section else {}))
    return shell.__panel__()


__all__ = ["create_app"]
