"""How much memory a new allocation can get, for choices made before the work (batch sizes, refusing
a clip too large to fit)."""
from __future__ import annotations

import os

import torch

__all__ = ["available_memory"]


def available_memory(device: torch.device | str | None = None) -> int:
    """Bytes available now: free GPU memory for a CUDA ``device``, else the system's (Linux
    ``MemAvailable``, else free physical pages; 2^62, "do not refuse", where neither can be read)."""
    if device is not None and torch.device(device).type == "cuda":
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62
