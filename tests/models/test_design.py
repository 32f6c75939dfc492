"""regrowth.models.design.formula_designs: several formulas, one pass, one set of dropped rows.

The reference is patsy itself: ``patsy.dmatrices``/``dmatrix`` on the rows where every
variable of every formula is observed must give the same matrices, column names and rows,
whether the design is written directly (bare numeric columns) or built by patsy (factors,
transforms).
"""

import numpy as np
import pandas as pd
import patsy
import pytest

from regrowth.models.design import formula_designs


def _frame():
    """Synthetic (for tests only): 60 rows, a float column with NaNs, an integer column, a
    string factor with a level seen only in a row that another formula drops."""
    rng = np.random.default_rng(20261205)
    n = 60
    df = pd.DataFrame({"y": rng.poisson(3.0, n).astype(float), "x": rng.normal(size=n),
                       "k": rng.integers(0, 5, n), "z": rng.normal(size=n),
                       "f": rng.choice(["a", "b", "c"], n)},
                      index=pd.Index([f"r{i}" for i in range(n)], name="row"))
    df.loc["r3", "x"] = np.nan
    df.loc["r7", "z"] = np.nan
    df.loc["r11", "f"] = "only_here"
    df.loc["r11", "z"] = np.nan  # the level "only_here" must not become a column
    return df


def _reference(formulas, df, keep):
    """patsy on the kept rows, one formula at a time."""
    sub = df[keep]
    out = []
    for f in formulas:
        if f.strip().startswith("~"):
            out.append((None, patsy.dmatrix(f, sub, return_type="dataframe")))
        else:
            out.append(patsy.dmatrices(f, sub, return_type="dataframe"))
    return out


@pytest.mark.parametrize("formulas", [
    ["y ~ x + k", "~ z + k"],                     # bare numeric columns: written directly
    ["y ~ x + C(f)", "~ z + f"],                  # factors: patsy's builder, rebuilt on kept rows
    ["y ~ np.log(k + 1) + x:z", "~ center(k)"],   # transforms, an interaction, a stateful one
])
def test_same_matrices_as_patsy_on_the_rows_every_formula_observes(formulas):
    df = _frame()
    keep = df[["x", "z"]].notna().all(axis=1).to_numpy()
    missing = np.zeros(len(df), bool)
    missing[20] = True  # e.g. a missing offset or cluster id
    keep = keep & ~missing
    built = formula_designs(formulas, df, eval_env={"np": np}, missing=missing)
    np.testing.assert_array_equal(built.dropped, ~keep)
    for (lhs, rhs), (ref_l, ref_r), (_, info) in zip(built.matrices, _reference(formulas, df,
                                                                                   keep),
                                                     built.design_infos):
        assert list(rhs.columns) == list(ref_r.columns) == info.column_names
        assert rhs.index.equals(df.index[keep])
        np.testing.assert_array_equal(rhs.to_numpy(), ref_r.to_numpy())
        if ref_l is None:
            assert lhs.shape == (keep.sum(), 0)
        else:
            np.testing.assert_array_equal(lhs.to_numpy(), ref_l.to_numpy())
    assert "f[T.only_here]" not in built.matrices[1][1].columns


def test_nothing_dropped_keeps_the_index_and_every_row():
    df = _frame().dropna()
    built = formula_designs(["y ~ x", "~ z"], df)
    assert not built.dropped.any()
    assert built.matrices[0][1].index.equals(df.index)
    np.testing.assert_array_equal(built.matrices[1][1]["z"].to_numpy(), df["z"].to_numpy())


def test_caller_function_sees_a_pandas_series():
    """A column used inside a function call is handed over as pandas, so a formula may call
    pandas methods; a bare column of the same formula set gets the same treatment."""
    df = _frame().dropna()
    seen = []

    def lag(s):
        seen.append(type(s))
        return s.shift(1).fillna(0.0)

    built = formula_designs(["y ~ lag(x)", "~ x"], df, eval_env={"lag": lag})
    assert seen and all(t is pd.Series for t in seen)
    np.testing.assert_array_equal(built.matrices[0][1]["lag(x)"].to_numpy(),
                                  df["x"].shift(1).fillna(0.0).to_numpy())


def test_same_formulas_on_other_data_give_patsys_matrices_of_that_data():
    """Bare numeric designs reuse the DesignInfo of the first call with the same formulas:
    a later call on other values, other missing rows and an integer column turned float, or
    on a column turned boolean (a factor to patsy), must still give patsy's matrices."""
    formulas = ["y ~ x + k", "~ z + k"]
    df = _frame()
    formula_designs(formulas, df, missing=np.zeros(len(df), bool))
    other = _frame().iloc[::-1].copy()
    other["x"] = other["x"] * 2.5 + 1.0
    other["k"] = other["k"].astype(float)
    other.loc["r40", "k"] = np.nan
    flag = other.copy()
    flag["z"] = flag["z"].fillna(0.0) > 0
    for data in (other, flag):
        keep = data[["x", "z", "k"]].notna().all(axis=1).to_numpy()
        built = formula_designs(formulas, data)
        np.testing.assert_array_equal(built.dropped, ~keep)
        for (lhs, rhs), (ref_l, ref_r) in zip(built.matrices, _reference(formulas, data, keep)):
            assert list(rhs.columns) == list(ref_r.columns)
            assert rhs.index.equals(data.index[keep])
            np.testing.assert_array_equal(rhs.to_numpy(), ref_r.to_numpy())
            if ref_l is not None:
                np.testing.assert_array_equal(lhs.to_numpy(), ref_l.to_numpy())
    assert "z[T.True]" in formula_designs(formulas, flag).matrices[1][1].columns
