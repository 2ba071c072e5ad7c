"""Tests of sim.engine: routing, lifecycle, replay and the two engines against each other."""
