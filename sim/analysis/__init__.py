"""From a run's aggregates, or the scenario alone, to answers: metrics and their confidence
intervals, economics, break-even, the plan against reality (`verdict`), the seed's signals,
warnings at the extremes and the work estimate before a run."""
