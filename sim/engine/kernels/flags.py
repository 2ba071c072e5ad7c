"""The jit spellings the kernels use."""

from numba import njit

# fastmath without nnan/ninf: reassociation and contraction only, so NaN checks stay honest.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def kernel(fn):  # type: ignore[no-untyped-def]
    """Compile a data-plane function: cached on disk, GIL released, fastmath only via FASTMATH."""
    return njit(cache=True, nogil=True, fastmath=FASTMATH)(fn)


def step(fn):  # type: ignore[no-untyped-def]
    """A small per-request helper, inlined into its caller so array arguments cost nothing."""
    return njit(cache=True, fastmath=FASTMATH, inline="always")(fn)
