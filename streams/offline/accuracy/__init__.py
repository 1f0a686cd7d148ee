"""The vision stage's accuracy and fairness, measured on labelled sets: ``integrity evaluate --accuracy``
writes docs/ACCURACY.md from it (and, ``--json``, the readings).

Four measurements, each on real photos that ship in installed packages, transformed with known truth
(``streams/samples/accuracy_sets.py``):

1. faces found against faces present, per condition (dark, small, mirrored, rotated, blurred, covered,
   two people), with whether a miss was reported (``too_dark``, a face ``too_small``);
2. head yaw and pitch against a face rendered at a known pose (``streams/samples/posed.py``);
3. the gaze decision (on or off the screen) in 5 fps sessions on an off-axis camera, with the
   candidate's baseline (the behaviour analyser's) and without it (the pipeline's camera-axis reading);
4. people and objects with the real YOLO weights, when they are given.

What is measured and how (``readings``: the plan and what each reading holds; ``measure``: running the
vision stage on the sets) is apart from the report (``report`` and ``faces_report``: docs/ACCURACY.md's
figures, tables and the prose around them).
"""

from streams.offline.accuracy.measure import measure
from streams.offline.accuracy.readings import DEFAULT_COMMAND, SECTIONS, Accuracy, AccuracyPlan, generated_line
from streams.offline.accuracy.report import markdown

__all__ = ["DEFAULT_COMMAND", "SECTIONS", "Accuracy", "AccuracyPlan", "generated_line", "markdown", "measure"]
