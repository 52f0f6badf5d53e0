"""Section "Convolution & CNN": :class:`CNNSection` (the page), its two screens and their views."""
from pyfadml.app.cnn.section import CNNSection

__all__ = ["CNNSection"]
