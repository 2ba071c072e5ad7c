"""distill-sim: a discrete-event simulator of LLM traffic for distillation decisions.

The map, from what a run is asked to what it answers (each layer imports only layers above it):

- `scenario/`  what a run is asked: pydantic models, distributions, policies, file loading, grids
- `data/`      files read: empirical samples, traces, logs
- `engine/`    the fast engine (`control` + numba `kernels/`) and its readable `reference` twin
- `analysis/`  aggregates to answers: metrics, economics, priced failures, break-even, plan vs
  reality, the one verdict (`decision`), deadlines, monitoring, signals, work
- `batch/`     many runs: compare, sweep, stress, executors
- `fit/`       inputs fitted from data: traffic, calibration
- `report/`    the run report: HTML page and figures
- top          `cli` (the command), `runner` (one run end to end), `results` and `output_dir`
               (the output contract), `problems` (bad input as one-line problems)

The engine never imports analysis, batch or report; the kernels never import pydantic
(tests/test_architecture_layers.py).
"""
