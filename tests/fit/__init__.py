"""Tests of sim.fit: traffic fits and calibration."""
