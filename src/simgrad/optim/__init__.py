"""Score optimization: synthetic data driven towards a reference, joint targets, allowed
regions, and models fitted to brains.

- :func:`optimize` → :class:`Trajectory` (or a list for ``restarts > 1``)
- :func:`allowed_region` → :class:`AllowedRegion` (joint optimization of two measures)
- :func:`fit_model` → :class:`FitHistory` (parameters of any ``torch.nn.Module``)
- :class:`CTRNN`, :func:`context_integration_task`, :func:`center_out_task`: a worked example

See ``docs/optimization.md``.
"""

from .fit import FitHistory, fit_model
from .loop import NonFiniteError
from .models import CTRNN
from .objective import Objective
from .optimize import optimize
from .region import AllowedRegion, allowed_region, boundary_targets
from .tasks import Task, center_out_task, context_integration_task
from .trajectory import Recorder, Trajectory

__all__ = [
    "CTRNN",
    "AllowedRegion",
    "FitHistory",
    "NonFiniteError",
    "Objective",
    "Recorder",
    "Task",
    "Trajectory",
    "allowed_region",
    "boundary_targets",
    "center_out_task",
    "context_integration_task",
    "fit_model",
    "optimize",
]
