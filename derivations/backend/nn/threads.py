"""Set the number of BLAS threads at run time (``--threads``), without threadpoolctl.

Environment variables such as ``OPENBLAS_NUM_THREADS`` only work before NumPy is imported;
this calls the BLAS library's own setter instead: threadpoolctl when it is installed, else
the ``*set_num_threads*`` symbol of the OpenBLAS that NumPy's wheel bundles.
"""

from __future__ import annotations

import ctypes
import glob
import os

SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
           "openblas_set_num_threads", "scipy_openblas_set_num_threads", "MKL_Set_Num_Threads")


def set_blas_threads(n: int) -> bool:
    """Limit BLAS to ``n`` threads; True when a library accepted it."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)                     # for child processes and late loads
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
        return True
    except ImportError:
        pass
    import numpy as np
    done = False
    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libs, "*openblas*")) + glob.glob(os.path.join(libs, "*mkl*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                done = True
                break
    return done


GETTERS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
           "openblas_get_num_threads", "scipy_openblas_get_num_threads")


def get_blas_threads() -> int | None:
    """Threads numpy's bundled OpenBLAS uses now, or None when it cannot be asked."""
    import numpy as np
    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libs, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in GETTERS:
            getter = getattr(lib, name, None)
            if getter is not None:
                return int(getter())
    return None


def auto_threads() -> int:
    """Cores not already busy by the 1-minute load average, at least 1.

    On a shared machine an OpenBLAS thread that loses its core stalls every matmul (an
    MNIST epoch went from 1.6 s to 15–40 s here with 2 threads under load; 2.7 s with 1)."""
    cores = os.cpu_count() or 1
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, min(cores, cores - busy))


def set_layer_threads(n: int) -> None:
    """Split the CNN layers' work over ``n`` threads (:mod:`derivations.backend.nn.parallel`), each
    calling BLAS on one thread: on 2 cores a fast-network step took 0.78 s this way against
    0.94 s with one thread driving a 2-thread BLAS (docs/cnn.md)."""
    from derivations.backend.nn import parallel
    parallel.set_workers(n)
    set_blas_threads(1)
