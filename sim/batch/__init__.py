"""Many runs: policies compared on one request stream, sweeps, stress tests, where they execute
(process pool or Dask), their progress and the sweep's figures."""
