"""Inference solvers (SPEC §7.4), one backend per module."""
