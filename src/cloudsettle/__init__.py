"""cloudsettle: automatic settlement for cloud resellers.

Provider bills come in, partner statements come out, right to the cent. The
pure rules live in :mod:`cloudsettle.core`; everything else is an adapter.
"""

__version__ = "0.1.0"
