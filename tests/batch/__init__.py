"""Tests of sim.batch: compare, sweep, stress and executors."""
