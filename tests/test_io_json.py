"""regrowth.files.jsonable: what estimates.json and the curve JSON files are made of."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from regrowth.files import jsonable


def test_numbers_json_cannot_hold_become_null_and_numpy_scalars_python_numbers():
    raw = {"nan": float("nan"), "inf": np.float64(np.inf), "na": pd.NA, "i": np.int64(3),
           "f": np.float32(0.5), "b": np.bool_(True), 7: (1, 2), "s": "x", "none": None,
           "obj": pd.Timestamp("2020-01-02")}
    out = jsonable(raw)
    assert out == {"nan": None, "inf": None, "na": None, "i": 3, "f": 0.5, "b": True,
                   "7": [1, 2], "s": "x", "none": None, "obj": "2020-01-02 00:00:00"}
    assert type(out["i"]) is int and type(out["f"]) is float and type(out["b"]) is bool
    # strict JSON (no NaN tokens) and the same text twice
    text = json.dumps(out, allow_nan=False, sort_keys=True)
    assert text == json.dumps(jsonable(raw), allow_nan=False, sort_keys=True)


def test_nested_values_are_cleaned_at_every_depth():
    out = jsonable({"a": [{"b": (np.nan, np.int8(1))}]})
    assert out == {"a": [{"b": [None, 1]}]}
    assert not any(isinstance(v, float) and math.isnan(v) for v in out["a"][0]["b"] if v)
