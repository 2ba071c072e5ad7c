"""Tests of sim.scenario: models, loading, bounds, the field reference."""
