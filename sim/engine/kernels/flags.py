"""The jit spellings the kernels use."""

from numba import njit

# No fastmath: strict IEEE arithmetic in the written order. Reassociation and contraction (fused
# multiply-add) let the compiler pick an order from the code's shape and the CPU's features, so a
# refactor or a machine without FMA changed the last digits of a summary; measured, they bought
# no speed (the kernel branches and reads memory; it does little arithmetic).
FASTMATH = False


def kernel(fn):  # type: ignore[no-untyped-def]
    """Compile a data-plane function: cached on disk, GIL released, arithmetic per FASTMATH."""
    return njit(cache=True, nogil=True, fastmath=FASTMATH)(fn)


def step(fn):  # type: ignore[no-untyped-def]
    """A small per-request helper, inlined into its caller (its array arguments borrowed views, see
    sim.engine.kernels.borrow, so passing them costs nothing)."""
    return njit(cache=True, fastmath=FASTMATH, inline="always")(fn)
