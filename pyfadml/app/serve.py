"""Entry point for a native Panel server:  ``panel serve pyfadml/app/serve.py``  (add ``--show``)."""
import panel as pn

from pyfadml.app import create_app

pn.extension("mathjax")   # Bokeh's own MathJax bundle, served locally: renders the $$ formulas
create_app().servable(title="pyfadml: deep learning from first principles")
