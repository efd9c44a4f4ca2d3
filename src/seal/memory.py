"""Hand freed memory back to the operating system between the loop's stages.

On Linux, glibc keeps freed heap memory of medium-sized tensors (below its mmap threshold)
in its arenas, so a long process that allocates tensors of ever-changing shapes (the
sampler's KV buffers, training activations) grows its resident size far beyond what it
uses. ``malloc_trim(0)`` returns that memory; elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


def trim() -> None:
    """Collect garbage and return free heap pages to the OS (glibc only)."""
    gc.collect()
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)
