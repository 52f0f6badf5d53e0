"""Section "Backprop & decision boundaries": :class:`BackpropSection` (the page) and its inspector."""
from pyfadml.app.backprop.section import BackpropSection

__all__ = ["BackpropSection"]
