"""The reform event-study figure: drawn, deterministic, honest about its intervals."""

import math

import pytest

from regrowth.models import iv
from regrowth.reform import figure


def _texts(fig):
    return " ".join(t.get_text() for t in fig.texts)


def test_figure_is_written_and_byte_identical(tmp_path, synthetic_panel):
    es = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    fig = figure.event_study_figure(es, a, note="SYNTHETIC data.")
    figure.event_study_figure(es, b, note="SYNTHETIC data.")
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 10_000
    assert "cluster-robust intervals, t(16)" in _texts(fig)
    ax = fig.axes[0]
    assert [int(t) for t in ax.get_xticks()] == list(range(2014, 2024))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "2018: reference (omitted)" in labels


def test_bootstrap_and_given_intervals(synthetic_panel):
    es = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
    boot = figure.bootstrap_intervals(es, reps=199, seed=5)
    assert set(boot) == set(es.event_years)
    for y, (lo, hi) in boot.items():
        assert lo < es.params[f"dose_x_{y}"] < hi
    fig = figure.event_study_figure(es, bootstrap=True, reps=199, seed=5)
    assert "wild cluster bootstrap" in _texts(fig) and "seed 5" in _texts(fig)
    given = {y: (-math.inf, 1.0) for y in es.event_years}
    fig = figure.event_study_figure(es, intervals=given, interval_label="95% Anderson-Rubin sets")
    assert "Anderson-Rubin" in _texts(fig)
    with pytest.raises(ValueError, match="2023"):
        figure.event_study_figure(es, intervals={y: (0, 1) for y in es.event_years if y != 2023})


# ----------------------------------------------------------------------------- dose map

def test_dose_map_shows_the_dose_per_resident_of_every_province(data_mirror, tmp_path):
    import matplotlib
    import numpy as np

    from regrowth import regions, spatial
    from regrowth.report import maps

    path = data_mirror / "kostat_boundaries" / "skorea-provinces-2018-topo-simple.json"
    if not path.is_file():
        pytest.skip(f"{path} not in the data mirror")
    keys = [k for k in regions.keys() if k != "sejong"]
    weight = {"seoul": 1, "incheon": 1, "gyeonggi": 1}      # the statute's 1/2/3 pattern
    dose = {k: 0.35 * weight.get(k, 3) + 0.01 * i for i, k in enumerate(keys)}
    fig = figure.dose_map(dose, tmp_path / "dose_map.png", boundaries=spatial.read_boundaries(path),
                          source="SYNTHETIC doses.")
    ax = fig.axes[0]
    drawn = {c.get_gid(): c for c in ax.collections if c.get_gid() in regions.keys()}
    assert sorted(drawn) == sorted(regions.keys())                  # all 17, Sejong too
    assert drawn["sejong"].get_hatch() == "////"
    assert "not in the estimates (Sejong)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert fig.axes[-1].get_xlabel() == f"Phase-1 dose, {figure.DOSE_UNIT}"
    viridis = matplotlib.colormaps["viridis"]
    top = max(dose, key=dose.get)
    np.testing.assert_allclose(drawn[top].get_facecolor()[0], viridis(1.0), atol=1e-6)
    low = min(dose, key=dose.get)
    assert low in weight                                            # a capital-region province
    np.testing.assert_allclose(drawn[low].get_facecolor()[0], viridis(0.0), atol=1e-6)
    note = _texts(fig).replace("\n", " ")
    assert "SYNTHETIC doses." in note and maps.ATTRIBUTION in note
    for ext in ("png", "pdf", "svg"):
        assert (tmp_path / f"dose_map.{ext}").is_file()


def test_dose_map_refuses_a_negative_dose():
    with pytest.raises(ValueError, match="busan"):
        figure.dose_map({"seoul": 1.0, "busan": -0.5})
