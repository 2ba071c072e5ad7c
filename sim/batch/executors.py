"""Where a sweep's runs execute: a local process pool, or a Dask cluster (local or remote).

Each executor is a `concurrent.futures.Executor`, so the sweep submits and collects the same way
whichever runs it; results do not depend on it because every run's seed comes from its
replication index, never from which worker took it or when.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sim.problems import BadInput, show

CONNECT_TIMEOUT_S = 3.0  # an unreachable scheduler is bad input, said within seconds
_ADDRESS = re.compile(r"^(?:(tcp|tls|ws|wss|ucx)://)?\[?[\w.\-:]+\]?:\d{1,5}$")


def _start_worker(sweep_pid: int) -> None:
    """A pool worker leaves Ctrl-C to the sweep, which keeps what is done and stops the pool, and
    exits when the sweep is gone (killed with SIGKILL, it cannot stop its workers itself: they
    would otherwise wait forever on a queue they hold both ends of)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(sweep_pid,), daemon=True).start()


def _exit_with(pid: int) -> None:
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)


@dataclass
class Workers:
    """An executor with its number of workers and how to stop it."""

    pool: Executor
    count: int
    kind: str
    _closers: list[Any] = field(default_factory=list)  # Dask client and cluster, closed in order

    def restart(self) -> None:
        """Replace a local pool broken by a worker that died (the others' work is resubmitted)."""
        if isinstance(self.pool, ProcessPoolExecutor):
            self.close(now=True)
            self.pool = _process_pool(self.count)

    def close(self, now: bool = False) -> None:
        """Stop the workers; with `now`, abandon running work (Ctrl-C) instead of waiting."""
        if isinstance(self.pool, ProcessPoolExecutor):
            self.pool.shutdown(wait=not now, cancel_futures=True)
            if now:
                # Python 3.11 has no public way to stop a running task; what it computed is lost
                # anyway, and everything finished is already on disk
                for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                    process.kill()
                    process.join()
            return
        self.pool.shutdown(wait=not now)  # Dask's executor cancels its futures when not waiting
        for closer in self._closers:
            closer.close()


def _process_pool(count: int) -> ProcessPoolExecutor:
    # forkserver, not fork: the parent may hold threads (rich, the engine's drawing thread) and
    # numba state that a forked child must not inherit; preloading the sweep module lets each
    # worker start from a process that has already imported numba, scipy and polars
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.batch.sweep"])
    return ProcessPoolExecutor(
        count, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    )


def check(workers: int | None, cluster: str | None) -> None:
    """Reject a bad --workers or --cluster before anything starts."""
    problems = []
    if workers is not None and workers < 1:
        problems.append(f"--workers: got {workers}; expected an integer ≥ 1")
    if cluster is not None and cluster != "local" and not _ADDRESS.match(cluster):
        problems.append(
            f"--cluster: got {show(cluster)}; expected local or a scheduler address such as "
            "tcp://10.0.0.5:8786"
        )
    if problems:
        raise BadInput(problems)


def start(workers: int | None = None, cluster: str | None = None) -> Workers:
    """A local process pool (all cores by default), a Dask LocalCluster (`cluster="local"`) or a
    client of the Dask scheduler at `cluster`."""
    check(workers, cluster)
    if cluster is None:
        count = workers or os.cpu_count() or 1
        return Workers(_process_pool(count), count, "local processes")
    from dask.distributed import Client, LocalCluster

    if cluster == "local":
        # one thread per worker process: the kernels would otherwise share one GIL-free core
        # budget between threads and the numpy draws hold the GIL
        local = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(local)
        closers: list[Any] = [client, local]
    else:
        try:
            client = Client(cluster, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, MemoryError, ValueError) as error:
            # MemoryError/ValueError: something answered that does not speak Dask's protocol
            # (its first bytes read as an absurd frame length)
            raise BadInput(
                [
                    f"--cluster: got {show(cluster)}, no Dask scheduler answered within "
                    f"{CONNECT_TIMEOUT_S:g} s ({type(error).__name__}); expected the address of "
                    "a running scheduler (dask scheduler) or local"
                ]
            ) from None
        closers = [client]
    threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    return Workers(client.get_executor(pure=False), max(1, threads), f"Dask {cluster}", closers)
