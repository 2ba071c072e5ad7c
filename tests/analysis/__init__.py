"""Tests of sim.analysis: economics, break-even, verdict, signals, extremes, work."""
