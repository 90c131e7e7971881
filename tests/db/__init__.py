"""Tests of the control store (``cloudsettle.db``)."""
