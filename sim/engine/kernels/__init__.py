"""numba kernels: the data plane. Arrays and scalars in, arrays out; wrappers live outside."""
