"""Tests of sim.data: samples, traces and logs read from files."""
