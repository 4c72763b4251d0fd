"""Tests of ganforge.data (a package, so that its conftest does not shadow tests/conftest.py)."""
