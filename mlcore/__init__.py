"""mlcore: micro-expression preprocessing, synthesis and recognition (PyTorch + OpenCV).

This package never imports Django: the platform calls into it, never the other way round.
"""

__version__ = "0.1.0"
