"""What a run is asked: the scenario's pydantic models, its distributions and routing policies,
reading a scenario file with `--set`, grids over its fields, and the generated field reference."""
