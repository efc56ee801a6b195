"""Analyses of what a score means: decoding, principal-component capture, theory.

Functions take plain arrays (iterates ``(k, *shape)``, scores ``(k,)``, label dicts); the
``*_trajectory`` helpers accept a :class:`~simgrad.optim.Trajectory`. ``sg.theory`` is
:mod:`simgrad.analysis.theory`.
"""

from . import theory
from .decoding import (
    DecodingResult,
    TrajectoryDecoding,
    chance_level,
    decode,
    decode_iterates,
    decode_trajectory,
    decoding_thresholds,
    make_folds,
)
from .pc_capture import PCCapture, n_captured, pc_capture, pc_capture_trajectory, pc_r2
from .thresholds import first_crossing, first_crossings

__all__ = [
    "DecodingResult",
    "PCCapture",
    "TrajectoryDecoding",
    "chance_level",
    "decode",
    "decode_iterates",
    "decode_trajectory",
    "decoding_thresholds",
    "first_crossing",
    "first_crossings",
    "make_folds",
    "n_captured",
    "pc_capture",
    "pc_capture_trajectory",
    "pc_r2",
    "theory",
]
