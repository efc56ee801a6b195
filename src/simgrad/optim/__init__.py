"""Score optimization: synthetic data driven towards a reference, joint targets, allowed
regions, and models fitted to brains.

- :func:`optimize` → :class:`Trajectory` (or a list for ``restarts > 1``)
- :func:`allowed_region` → :class:`AllowedRegion` (joint optimization of two measures)
- :func:`fit_model` → :class:`FitHistory` (parameters of any ``torch.nn.Module``)
- :class:`CTRNN` and :func:`context_integration_task` / :func:`center_out_task`: a worked example
"""

from .loop import NonFiniteError
from .objective import Objective
from .optimize import optimize
from .region import AllowedRegion, allowed_region, boundary_targets
from .trajectory import Recorder, Trajectory

__all__ = [
    "AllowedRegion",
    "NonFiniteError",
    "Objective",
    "Recorder",
    "Trajectory",
    "allowed_region",
    "boundary_targets",
    "optimize",
]
