"""Several processes working as one: ranks, sharded calls, gathers and gradient sums.

A process is distributed when a launcher (``accelerate launch``, ``torchrun``) set
``WORLD_SIZE`` above 1; its process group is then started through Accelerate's
``PartialState`` (gloo on CPU, NCCL on GPUs). In a single process every helper here is the
identity and neither Accelerate nor ``torch.distributed`` is touched.

The rule that makes N processes compute what one computes: every rank holds the same
model and the same data and runs the same code. Inside a call, the work is split by rank
(the prompts to sample or judge, the examples of a training batch), results are gathered
so every rank has all of them, gradients are summed across ranks and losses are divided by
counts over all ranks (tokens, examples). Only rank 0 writes files (``on_main``); the others
wait for it, so what they read next is there.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # torch is imported where a tensor is made: `seal runs` needs none
    import torch

T = TypeVar("T")

_inside_main = False


def world_size() -> int:
    """Processes in the run (1 unless launched distributed)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if world_size() > 1 else 0


def is_main() -> bool:
    return rank() == 0


def _dist():
    """``torch.distributed`` with its process group started (once, through Accelerate)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        # reads the launcher's environment: NCCL on GPUs; without CUDA, Accelerate's
        # multi-CPU state on gloo (it needs cpu=True to choose it)
        PartialState(cpu=not torch.cuda.is_available())
        atexit.register(_shutdown)
    return dist


def _shutdown() -> None:
    """Destroy the process group before the interpreter tears down: left to teardown, a
    gloo worker thread can outlive its owner and abort the process ("terminate called
    without an active exception", exit -6) after the run's work is all written."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def init() -> None:
    """Start the process group now if launched distributed (otherwise nothing)."""
    if world_size() > 1:
        _dist()


def device() -> torch.device | None:
    """The device this rank should use when launched distributed on GPUs (``cuda:LOCAL_RANK``);
    ``None`` when not distributed or on CPU, meaning: keep the configured device."""
    import torch

    if world_size() > 1 and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return None


def shard(n: int) -> list[int]:
    """The indices of ``n`` items this rank works on: every ``world_size``-th, from ``rank``
    (strided, so length-sorted work is spread evenly)."""
    return list(range(rank(), n, world_size()))


def gather(local: list[T], n: int) -> list[T]:
    """Every rank's ``local`` results (computed for ``shard(n)``) back in item order, on all
    ranks."""
    size = world_size()
    if size == 1:
        return local
    parts: list[Any] = [None] * size
    _dist().all_gather_object(parts, local)
    out: list[Any] = [None] * n
    for r, part in enumerate(parts):
        for i, x in zip(range(r, n, size), part, strict=True):
            out[i] = x
    return out


def map_sharded(fn: Callable[[list[int]], list[T]], n: int) -> list[T]:
    """``fn(indices) -> results`` over ``n`` items, split across ranks and gathered; one
    process calls ``fn(range(n))``. An error on any rank is raised on every rank (none is
    left waiting for the others)."""
    if world_size() == 1:
        return fn(list(range(n)))
    try:
        local, error = fn(shard(n)), None
    except Exception as err:  # handed to every rank below
        local, error = [], err
    parts: list[Any] = [None] * world_size()
    _dist().all_gather_object(parts, error)
    for err in parts:
        if err is not None:
            raise err
    return gather(local, n)


def split(batch: list[T]) -> list[T]:
    """This rank's part of a batch every rank holds whole."""
    return batch[rank() :: world_size()] if world_size() > 1 else batch


def _comm_device() -> torch.device:
    """Where collectives' tensors must live: the rank's GPU for NCCL, the CPU for gloo."""
    import torch

    config = str(_dist().get_backend_config())  # e.g. "cpu:gloo", "cuda:nccl"
    if "gloo" not in config and "nccl" in config:
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_sum(values: Iterable[float]) -> list[float]:
    """Element-wise sums over ranks (float64), on every rank."""
    values = list(values)
    if world_size() == 1:
        return values
    import torch

    t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    _dist().all_reduce(t)
    return t.tolist()


def sum_grads(params: list[torch.nn.Parameter]) -> None:
    """Sum the gradients of ``params`` over ranks, in place (one flat all-reduce; a rank
    whose share of a batch was empty contributes zeros). With losses divided by global
    counts, the sum is the gradient one process would have computed for the whole batch."""
    if world_size() == 1:
        return
    import torch

    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params]).to(_comm_device())
    _dist().all_reduce(flat)
    offset = 0
    for p in params:
        k = p.numel()
        p.grad.copy_(flat[offset : offset + k].view_as(p.grad))
        offset += k


def on_main(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and give its result (or its exception) to every rank.

    For writes to the run directory: one writer, and the other ranks return only once the
    file is in place. Nested calls on rank 0 run directly."""
    global _inside_main
    if world_size() == 1 or _inside_main:
        return fn()
    box: list[Any] = [(None, None)]
    if is_main():
        _inside_main = True
        try:
            box = [(fn(), None)]
        except Exception as err:  # handed to every rank, raised everywhere
            box = [(None, err)]
        finally:
            _inside_main = False
    _dist().broadcast_object_list(box, src=0)
    result, error = box[0]
    if error is not None:
        raise error
    return result


def barrier() -> None:
    if world_size() > 1:
        _dist().barrier()
