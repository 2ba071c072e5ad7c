"""The two engines and what they share. `control` is the fast engine's SimPy control plane and
`kernels/` its numba data plane; `reference` is the readable twin, one SimPy process per
request. Lifecycle, traffic, trace replay, kernel parameters and the per-tick aggregates are
common to both. The engine never imports analysis, batch or report."""
