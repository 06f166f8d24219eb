"""PyTorch's own distributed data parallel, as `torchrun` sets it up (gloo on CPU).

`torchrun --nproc-per-node N -m ohq train ...` starts N copies of the command with RANK and
WORLD_SIZE in the environment; `init()` joins them into one gloo process group. Every rank
trains on its shard (`DistributedSampler`); gradients are averaged by `DistributedDataParallel`;
rank 0 alone prints and writes files. Without torchrun everything is one process of world 1.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch.distributed as dist
from torch import nn

from ohq.errors import OhqError

TIMEOUT = timedelta(minutes=10)  # a rank that died leaves the others waiting at most this long


def init() -> None:
    """Join torchrun's process group when WORLD_SIZE > 1 (idempotent)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("gloo", timeout=TIMEOUT)


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def agree(ok: bool, message: str) -> None:
    """All ranks raise the same OhqError when any rank is not `ok` (no rank left hanging)."""
    if dist.is_initialized():
        import torch

        flag = torch.tensor([0 if ok else 1])
        dist.all_reduce(flag)
        ok = int(flag) == 0
    if not ok:
        raise OhqError(message)


def wrap(net: nn.Module) -> nn.Module:
    """`net` under DistributedDataParallel when there is more than one rank."""
    if world_size() == 1:
        return net
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(net)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
