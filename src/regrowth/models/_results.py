"""What every regrowth results object with labelled estimates and covariance shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LabelledEstimates"]


class LabelledEstimates:
    """``params``, ``cov`` and ``std_errors`` as labelled pandas copies of ``_params`` (a
    Series) and ``_cov`` (a DataFrame), as linearmodels' results give them."""

    @property
    def params(self) -> pd.Series:
        return self._params.copy()

    @property
    def cov(self) -> pd.DataFrame:
        return self._cov.copy()

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self._cov.to_numpy())), index=self._params.index,
                         name="std_error")
