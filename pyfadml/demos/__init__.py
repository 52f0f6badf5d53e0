"""The lecture's demos as plain Python: state, training and inspection, no panel/bokeh imports.

Each module holds one section of the browser app's logic so that pytest can drive it natively:

* :mod:`pyfadml.demos.mlp`   backprop and decision boundaries of a small MLP on 2-D toy data

Import the module you need (``from pyfadml.demos.mlp import MLPDemo``); nothing is imported eagerly here,
so loading one section in the browser does not pay for the others.
"""
