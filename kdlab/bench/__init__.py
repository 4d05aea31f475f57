"""Benchmarks behind ``kdlab bench``: measured figures, never asserted in tests."""
