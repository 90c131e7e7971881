"""Tests of the cloudsettle demo."""
