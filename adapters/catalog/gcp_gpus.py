"""Which GPUs come with a GCP machine type, so that its price can be made whole.

In SkyPilot's GCP catalog the GPUs of an accelerator-optimized machine type (A2, A3,
A4, G2) are not on the machine type's row: the row prices the host (vCPUs, memory;
0 for A4) and a separate row with an empty ``InstanceType`` prices the GPUs, per zone
and count. The machine type's real price is the sum (a2-highgpu-1g in us-central1:
host 0.73948 + 1 x A100 2.93391 = 3.67339 $/h, GCP's list price). This table says
which accelerator row belongs to which machine type; it follows SkyPilot's
``sky/catalog/gcp_catalog.py`` (``_ACC_INSTANCE_TYPE_DICTS``).

Attaching GPUs to N1 hosts (any count of T4, V100, P100, P4 to a choice of N1 shapes)
is not modelled: those accelerator rows stay price components and are not offerings.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Machine type -> (accelerator name as in the catalog, accelerator count).
HOST_ACCELERATORS: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "a2-highgpu-1g": ("A100", 1),
        "a2-highgpu-2g": ("A100", 2),
        "a2-highgpu-4g": ("A100", 4),
        "a2-highgpu-8g": ("A100", 8),
        "a2-megagpu-16g": ("A100", 16),
        "a2-ultragpu-1g": ("A100-80GB", 1),
        "a2-ultragpu-2g": ("A100-80GB", 2),
        "a2-ultragpu-4g": ("A100-80GB", 4),
        "a2-ultragpu-8g": ("A100-80GB", 8),
        "a3-highgpu-1g": ("H100", 1),
        "a3-highgpu-2g": ("H100", 2),
        "a3-highgpu-4g": ("H100", 4),
        "a3-highgpu-8g": ("H100", 8),
        "a3-megagpu-8g": ("H100-MEGA", 8),
        "a3-ultragpu-8g": ("H200", 8),
        "a4-highgpu-8g": ("B200", 8),
        "g2-standard-4": ("L4", 1),
        "g2-standard-8": ("L4", 1),
        "g2-standard-12": ("L4", 1),
        "g2-standard-16": ("L4", 1),
        "g2-standard-24": ("L4", 2),
        "g2-standard-32": ("L4", 1),
        "g2-standard-48": ("L4", 4),
        "g2-standard-96": ("L4", 8),
    }
)

#: Machine families whose types all carry GPUs. A type of one of them that is not in
#: :data:`HOST_ACCELERATORS` (e.g. ``a3-edgegpu-8g``) cannot be priced whole, so it is
#: skipped rather than sold as a GPU-less machine at its host price.
GPU_HOST_FAMILIES: tuple[str, ...] = ("a2-", "a3-", "a4-", "a4x-", "g2-", "g4-")


def is_gpu_host(instance_type: str) -> bool:
    return instance_type in HOST_ACCELERATORS or instance_type.startswith(GPU_HOST_FAMILIES)
