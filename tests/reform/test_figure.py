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
