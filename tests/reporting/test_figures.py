"""Figures: byte-identical PNGs, no embedded version text, global state untouched, atomic."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from regrowth.report import figures
from regrowth.report.figures import coefficient_plot, png_bytes, province_lines, province_small_multiples

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


def _panel_titles(fig) -> list[str]:
    return [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]


def test_coefficient_plot_has_one_panel_per_term_with_the_models_as_rows(tidy_frames):
    fig = coefficient_plot(tidy_frames, var_labels={"fiscal": "Fiscal self-reliance"})
    assert isinstance(fig, Figure)
    assert _panel_titles(fig) == ["Fiscal self-reliance", "rnd"]   # constant left out by default
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert rows == ["GNB", "Poisson"]                                # the models, top to bottom
    fig = coefficient_plot(tidy_frames, terms=["const"])
    assert _panel_titles(fig) == ["const"]
    with pytest.raises(KeyError, match="nope"):
        coefficient_plot(tidy_frames, terms=["nope"])


def test_each_coefficient_panel_has_its_own_scale_with_zero_in_view():
    """A coefficient of 0.01 beside one of -4 stays visible: each panel is scaled to its own
    intervals (and zero), not to the largest coefficient of the table."""
    def frame(est):
        est = np.asarray(est, dtype=float)
        return pd.DataFrame({"term": ["fiscal", "income"], "equation": "main", "estimate": est,
                             "std_error": 0.1, "statistic": 1.0, "p_value": 0.05,
                             "ci_low": est - np.abs(est) / 2, "ci_high": est + np.abs(est) / 2})
    fig = coefficient_plot({"(1)": frame([0.01, -4.0])})
    small, large = fig.axes[0].get_xlim(), fig.axes[1].get_xlim()
    assert small[0] <= 0.0 < 0.015 <= small[1] and small[1] - small[0] < 0.05
    assert large[0] <= -6.0 and large[1] >= 0.0


def test_a_model_without_the_term_says_so(tidy_frames):
    frames = {"A": tidy_frames["GNB"], "B": tidy_frames["Poisson"].iloc[:1]}  # B lacks rnd
    fig = coefficient_plot(frames, terms=["fiscal", "rnd"])
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["not in model"]
    assert [t.get_text() for t in fig.axes[0].texts] == []


def test_long_titles_wrap_and_source_line_is_printed(tidy_frames):
    long_title = "Table 9. " + "a very long title that would run off the figure " * 3
    fig = coefficient_plot(tidy_frames, title=long_title, source="Source: synthetic numbers.")
    shown = fig._suptitle.get_text()
    assert "\n" in shown and shown.replace("\n", " ").split() == long_title.split()
    notes = [t.get_text() for t in fig.texts if "Source:" in t.get_text()]
    assert len(notes) == 1 and notes[0].endswith("Source: synthetic numbers.")


def test_count_series_on_a_log_scale_with_a_note(panel):
    fig = province_lines(panel, "patents", log=True, note="2021 is undercounted.")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in fig.texts] == ["2021 is undercounted."]   # no title given
    zero = panel.copy()
    zero.loc[("busan", 2013), "patents"] = 0.0
    fig = province_lines(zero, "patents", log=True)
    assert "1 province-year value(s) of zero or less are not shown" in fig.texts[0].get_text()


def test_macro_region_series_is_drawn_once_per_macro_region():
    from regrowth import regions

    idx = pd.MultiIndex.from_product([[r.key for r in regions.REGIONS], [2019, 2020]],
                                     names=["region", "year"])
    macro_value = {m: 100.0 * (i + 1) for i, m in enumerate(regions.MACRO_REGIONS)}
    df = pd.DataFrame({"pm": [macro_value[regions.lookup(k).macro_region] + y - 2019
                              for k, y in idx]}, index=idx)
    fig = figures.macro_region_lines(df, "pm", label="per million")
    ax = fig.axes[0]
    assert len(ax.lines) == len(regions.MACRO_REGIONS) == 7
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "Capital Region\n  Seoul, Incheon, Gyeonggi"
    assert legend[-1] == "Jeju"
    assert list(ax.lines[0].get_ydata()) == [100.0, 101.0]
    df.loc[("seoul", 2020), "pm"] = 1.0                  # provinces of one macro-region differ
    with pytest.raises(ValueError, match="differs between provinces of capital in 2020"):
        figures.macro_region_lines(df, "pm")


def test_shared_style_helpers_give_deterministic_figures(tmp_path):
    """The helpers other figures use: style, new_figure, figure_title, source_note, finish."""
    def draw(path):
        with figures.style():
            fig = figures.new_figure(5.0, 3.0)
            ax = fig.add_subplot()
            ax.plot([0, 1, 2], [1, 3, 2], color=figures.COLORS[0])
            figures.figure_title(fig, "A title " * 12)
            figures.source_note(fig, "Source: synthetic.")
            return figures.finish(fig, path)
    draw(tmp_path / "a.png")
    draw(tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    fig = draw(None)
    (note,) = [t for t in fig.texts if t.get_text() == "Source: synthetic."]
    ax_bottom = fig.axes[0].get_tightbbox().y0             # the axes with its tick labels
    assert note.get_window_extent().y1 < ax_bottom          # the note sits below, no overlap


def test_a_saved_figure_is_the_figure_solved_once_and_frozen(tmp_path):
    """finish(fig, path) lets the PNG's draw solve the layout and draws the PDF and SVG with
    it frozen (one draw fewer): every file is what freezing first and saving after gives,
    and the figure stays frozen."""
    def draw():
        with figures.style():
            fig = figures.new_figure(5.0, 3.0)
            for i in range(2):
                ax = fig.add_subplot(1, 2, i + 1)
                ax.plot([0, 1, 2], [1, 3, 2])
                ax.set_ylabel("a long axis label " * 2)
            figures.figure_title(fig, "A title " * 12)
            figures.source_note(fig, "Source: synthetic.")
            return fig
    with figures.style():
        fig = figures.finish(draw(), tmp_path / "once.png")
        frozen = figures.finish(draw())
        figures.save_figure(frozen, tmp_path / "frozen.png")
    for fmt in figures.FIGURE_FORMATS:
        assert ((tmp_path / f"once.{fmt}").read_bytes()
                == (tmp_path / f"frozen.{fmt}").read_bytes()), fmt
    assert figures.png_bytes(fig) == (tmp_path / "once.png").read_bytes()


def test_a_note_is_wrapped_greedily_each_line_taking_the_most_words_that_fit():
    """Every line is at most the width (or a lone word), and the next line's first word
    would not have fitted on it; line breaks of the text are kept."""
    import random

    rng = random.Random(3)
    vocab = ("the of fiscal self-reliance province Seoul a bootstrap p-value wild cluster "
             "(Webb, 9,999 draws) x supercalifragilisticexpialidocious i").split()
    for _ in range(25):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40)))
        width, size = rng.uniform(30, 400), rng.choice([6.5, 9.0])
        lines = figures._wrap_to_width(text, width, size).split("\n")
        assert " ".join(lines).split() == text.split()
        for line, after in zip(lines, lines[1:]):
            assert figures._text_width_pt(f"{line} {after.split()[0]}", size) > width
        for line in lines:
            if len(line.split()) > 1:
                assert figures._text_width_pt(line, size) <= width
    paragraphs = ["a first paragraph of several words", "", "and a second one"]
    assert figures._wrap_to_width("\n".join(paragraphs), 60.0, 9.0) == "\n".join(
        figures._wrap_to_width(p, 60.0, 9.0) for p in paragraphs)


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
    assert len(visible) == len(REGIONS) and len(fig.axes) == 8     # 2 x 4 grid, 2 hidden
    assert (tmp_path / "sm.png").read_bytes() == png_bytes(fig)


def test_failed_save_leaves_previous_png(panel, tmp_path, monkeypatch):
    """PNG, PDF and SVG are all rendered before any file is replaced: a failure while
    rendering the second format leaves the three previous files as they were."""
    target = tmp_path / "fig.png"
    province_lines(panel, "patents", target)
    old = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(old) == ["fig.pdf", "fig.png", "fig.svg"]

    real = Figure.savefig

    def fail_on_pdf(self, fname, *args, **kwargs):
        real(self, fname, *args, **kwargs)
        if kwargs.get("format") == "pdf":
            raise OSError("interrupted")

    monkeypatch.setattr(Figure, "savefig", fail_on_pdf)
    with pytest.raises(OSError, match="interrupted"):
        province_lines(panel, "patents", target, highlight=["busan"])
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old  # no temporary files


def test_duplicated_region_year_is_an_error(panel):
    doubled = pd.concat([panel, panel.iloc[:1]])
    with pytest.raises(ValueError, match="duplicated"):
        figures.province_lines(doubled, "patents")


# ------------------------------------------------------------------------- notes and SVG size

def _svg_segments(svg: bytes) -> list[list[tuple]]:
    """Every path of an SVG as (command, x, y) segments, read by the SVG grammar: a bare
    coordinate pair after M or L is another L (an independent reader of the path data)."""
    import re

    paths = []
    for d in re.findall(rb' d="([^"]*)"', svg):
        tokens = re.findall(rb"[A-Za-z]|-?\d+(?:\.\d+)?", d)
        segs, cmd, nums = [], None, []
        for tok in tokens + [b"z"]:
            if tok.isalpha():
                if cmd is not None and cmd in b"ML":
                    for k in range(0, len(nums), 2):
                        segs.append(("M" if (cmd == b"M" and k == 0) else "L",
                                     float(nums[k]), float(nums[k + 1])))
                elif cmd is not None:
                    segs.append((cmd.decode(), *map(float, nums)))
                cmd, nums = tok, []
            else:
                nums.append(tok)
        paths.append(segs)
    return paths


def test_svg_path_data_is_compact_and_draws_the_same_shapes():
    import io

    rng = np.random.default_rng(3)
    with figures.style():
        fig = figures.new_figure(4.0, 3.0)
        ax = fig.add_subplot()
        xy = np.cumsum(rng.standard_normal((3000, 2)), axis=0)
        ax.fill(xy[:, 0], xy[:, 1], facecolor="#0072B2", edgecolor="k")
        ax.plot(xy[::7, 1], xy[::7, 0], color="#D55E00")
        ax.set_axis_off()
        figures.finish(fig)
        raw = io.BytesIO()
        fig.savefig(raw, format="svg", metadata=figures._METADATA["svg"])
    compact = figures.figure_bytes(fig, "svg")
    assert len(compact) < 0.6 * len(raw.getvalue())
    before, after = _svg_segments(raw.getvalue()), _svg_segments(compact)
    assert len(before) == len(after) and sum(map(len, before)) > 3000
    for p, q in zip(before, after):
        assert [s[0] for s in p] == [s[0] for s in q]
        a = np.array([s[1:] for s in p if len(s) == 3], dtype=float)
        b = np.array([s[1:] for s in q if len(s) == 3], dtype=float)
        np.testing.assert_allclose(a, b, rtol=0, atol=0.005 + 1e-9)   # 0.01 pt, rounded


def test_source_note_is_wrapped_to_the_figure_width():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    text = ("Boundaries: Statistics Korea SGIS (Tonggyecheong Tonggyejiri Jeongbo Seobiseu), "
            "2018, KOGL Type 1. " * 3).strip()
    with figures.style():
        fig = figures.new_figure(3.5, 2.5)
        fig.add_subplot().plot([0, 1], [0, 1])
        figures.source_note(fig, text)
        figures.finish(fig)
    (note,) = fig.texts
    assert note.get_text() == figures.wrap_note(text, 3.5)
    assert note.get_text().replace("\n", " ") == text           # every word, in order
    box = note.get_window_extent(FigureCanvasAgg(fig).get_renderer())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width and 0 <= box.y0, box


def test_svg_bytes_do_not_change_with_float_noise_below_the_printed_digits():
    import re

    def svg(shift: float) -> bytes:
        with figures.style():
            fig = figures.new_figure(4.0, 3.0)
            fig.set_layout_engine("none")
            left = fig.add_axes((0.1 + shift, 0.1, 0.35, 0.8))
            right = fig.add_axes((0.55, 0.1, 0.35, 0.8))
            for ax in (left, right):
                ax.plot([0, 1, 2], [1, 3, 2], marker="o")
            return figures.figure_bytes(fig, "svg")

    # Matplotlib names a clip path by a hash of its box, so a 1e-13 shift alone renames it;
    # the package numbers them, so the bytes stay the same
    base, noisy = svg(0.0), svg(1e-13)
    assert base == noisy
    # two axes, two clip paths, each one referenced
    clip_refs = re.compile(rb'clip-path="url\(#(p[0-9]+)\)"')
    assert sorted(set(clip_refs.findall(base))) == [b"p1", b"p2"]
    assert re.search(rb'<clipPath id="p1">', base) and re.search(rb'<clipPath id="p2">', base)
