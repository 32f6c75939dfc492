"""The Phase-1 fiscal decentralization reform (2019-20) as a quasi-experiment.

* :mod:`regrowth.reform.statute` — the statutory parameters (rates, weights, offsets) with
  their legal source and whether a stored source confirms them.
* :mod:`regrowth.reform.dose` — each province's formula-predicted dose (shift-share).
* :mod:`regrowth.models.iv` — event study, dose-response DiD, 2SLS with first-stage F and
  Anderson-Rubin sets, pre-trend test, wild bootstrap and randomization inference.
* :mod:`regrowth.reform.figure` — the event-study figure.
"""

from regrowth.reform import statute
from regrowth.reform.dose import dose_frame, dose_panel, exposure

__all__ = ["statute", "exposure", "dose_frame", "dose_panel"]
