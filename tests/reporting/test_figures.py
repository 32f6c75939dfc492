"""Figures: byte-identical PNGs, no embedded version text, global state untouched, atomic."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from regrowth import figures
from regrowth.figures import coefficient_plot, png_bytes, province_lines, province_small_multiples

REGIONS = ["seoul", "busan", "daegu", "incheon", "daejeon", "gyeonggi"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    idx = pd.MultiIndex.from_product([REGIONS, range(2012, 2021)], names=["region", "year"])
    df = pd.DataFrame({"patents": rng.poisson(20, size=len(idx)).astype(float)}, index=idx)
    df.loc[("daegu", 2015), "patents"] = np.nan
    return df


@pytest.fixture(scope="module")
def tidy_frames() -> dict[str, pd.DataFrame]:
    def frame(est, eq):
        est = np.asarray(est, dtype=float)
        return pd.DataFrame({"term": ["fiscal", "rnd", "const"][: len(est)], "equation": eq,
                             "estimate": est, "std_error": 0.1, "statistic": est / 0.1,
                             "p_value": 0.05, "ci_low": est - 0.2, "ci_high": est + 0.2})
    return {"GNB": frame([0.3, -0.1, 1.0], "mean"), "Poisson": frame([0.25, 0.05], "main")}


def test_png_bytes_identical_across_renders(panel, tidy_frames, tmp_path):
    a = province_lines(panel, "patents", tmp_path / "a.png", label="Patents")
    b = province_lines(panel, "patents", tmp_path / "b.png", label="Patents")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert png_bytes(a) == png_bytes(b) == (tmp_path / "a.png").read_bytes()
    c1 = coefficient_plot(tidy_frames, path=tmp_path / "c1.png")
    c2 = coefficient_plot(tidy_frames, path=tmp_path / "c2.png")
    assert (tmp_path / "c1.png").read_bytes() == (tmp_path / "c2.png").read_bytes()
    assert png_bytes(c1) == png_bytes(c2)


def test_png_has_no_software_or_time_text(panel, tmp_path):
    province_lines(panel, "patents", tmp_path / "p.png")
    data = (tmp_path / "p.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in data and b"Matplotlib" not in data
    assert b"tIME" not in data and b"Creation" not in data


def test_global_rcparams_untouched(panel, tidy_frames):
    with mpl.rc_context({"font.size": 23.0, "axes.grid": False}):
        before = dict(mpl.rcParams)
        fig = province_lines(panel, "patents")
        assert dict(mpl.rcParams) == before
        # a caller's rcParams do not change the output either
        outside = png_bytes(fig)
    assert png_bytes(province_lines(panel, "patents")) == outside


def test_coefficient_plot_terms(tidy_frames):
    fig = coefficient_plot(tidy_frames, var_labels={"fiscal": "Fiscal self-reliance"})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Fiscal self-reliance", "rnd"]      # constant left out by default
    fig = coefficient_plot(tidy_frames, terms=["const"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["const"]
    with pytest.raises(KeyError, match="nope"):
        coefficient_plot(tidy_frames, terms=["nope"])


def test_province_lines_highlight(panel):
    fig = province_lines(panel, "patents")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Seoul", "Gyeonggi", "Daejeon", "Other provinces"]
    fig = province_lines(panel.reset_index(), "patents", highlight=["busan"],
                         region_labels={"busan": "Busan Metropolitan City"})
    assert [t.get_text() for t in fig.legends[0].get_texts()][0] == "Busan Metropolitan City"
    with pytest.raises(KeyError, match="seol"):
        province_lines(panel, "patents", highlight=["seol"])
    with pytest.raises(KeyError, match="missing_var"):
        province_lines(panel, "missing_var")


def test_small_multiples(panel, tmp_path):
    fig = province_small_multiples(panel, "patents", tmp_path / "sm.png", ncols=4)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in visible] == [r.title() for r in REGIONS]
    assert (tmp_path / "sm.png").stat().st_size > 0


def test_failed_save_leaves_previous_png(panel, tmp_path, monkeypatch):
    target = tmp_path / "fig.png"
    province_lines(panel, "patents", target)
    old = target.read_bytes()

    real = Figure.savefig

    def half_then_fail(self, fname, *args, **kwargs):
        real(self, fname, *args, **kwargs)
        with open(fname, "r+b") as fh:
            fh.truncate(100)
        raise OSError("interrupted")

    monkeypatch.setattr(Figure, "savefig", half_then_fail)
    with pytest.raises(OSError, match="interrupted"):
        province_lines(panel, "patents", target, highlight=["busan"])
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_duplicated_region_year_is_an_error(panel):
    doubled = pd.concat([panel, panel.iloc[:1]])
    with pytest.raises(ValueError, match="duplicated"):
        figures.province_lines(doubled, "patents")
