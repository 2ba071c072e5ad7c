"""Borrowed views: the kernel's arrays without their reference count.

numba counts references to every array it passes around: each array handed to an inlined step is
an atomic increment and decrement, and a driver of small steps would pay that dozens of times per
request (measured: it ran the kernel at a third of its speed). A borrowed view is the same array
(data, shape, strides) with no owner attached, so numba's reference counting on it compiles to
nothing. The kernel borrows its arguments once per tick: their owners, the caller's arrays,
outlive the call, and no borrowed view escapes it. Never borrow an array the kernel allocates:
numba frees it after its last use, and a view of it would outlive it.
"""

from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


@intrinsic
def borrow(typingctx, array):  # type: ignore[no-untyped-def]
    """A view of `array` without its memory owner (valid while the caller holds the array)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        source = make_array(signature.args[0])(context, builder, args[0])
        view = make_array(signature.return_type)(context, builder)
        populate_array(
            view,
            data=source.data,
            shape=source.shape,
            strides=source.strides,
            itemsize=source.itemsize,
            meminfo=None,
        )
        return view._getvalue()

    return array(array), codegen
