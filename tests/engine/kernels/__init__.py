"""Tests of sim.engine.kernels against exact answers."""
