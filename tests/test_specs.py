"""The specification file is checked completely, and strictly, before anything is fitted.

Each kind of bad input has its own test asserting the reason and the file, table/column and
key the message names. Panel-dependent checks use a small synthetic panel (says so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import specs
from regrowth.errors import SpecificationError
from regrowth.models import registry

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[edition]
name = "test"
summary = "synthetic"

[[table]]
id = "t1"
title = "T1"

[[table.column]]
id = "c1"
label = "(1)"
title = "FGLS"
estimator = "fgls"
outcome = "y"
regressors = ["x1", "x2"]
sample = { years = [2010, 2019] }
options = { panels = "hetero", corr = "ar1" }
rationale = "test"

[[table.column]]
id = "c2"
label = "(2)"
title = "GNB"
estimator = "gnb"
outcome = "n"
regressors = ["x1"]
dispersion = ["flag"]
year_effects = true
sample = { years = [2010, 2019], exclude = ["sejong"] }
se = { type = "cluster", groups = "region" }
rationale = "test"
"""


def load(tmp_path, text: str) -> specs.Specs:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return specs.load(path)


def refused(tmp_path, text: str, *fragments: str) -> str:
    """Load ``text``; assert it is refused with a message naming the file and ``fragments``."""
    with pytest.raises(SpecificationError) as err:
        load(tmp_path, text)
    msg = str(err.value)
    assert str(tmp_path / "models.toml") in msg
    for f in fragments:
        assert f in msg, f"{f!r} not in:\n{msg}"
    return msg


def test_the_base_spec_loads(tmp_path):
    s = load(tmp_path, BASE)
    c1, c2 = s.columns()
    assert c1.options == {"panels": "hetero", "corr": "ar1"} and c1.se_type == "unadjusted"
    assert c2.sample.exclude == ("sejong",) and c2.year_effects and not c2.province_effects


# ----------------------------------------------------------------------------- unknown keys

def test_a_spec_file_saved_in_another_encoding_is_refused_by_every_reader(tmp_path):
    """A spec saved as CP949 (a Korean Windows editor's default) is refused naming the file,
    by the table reader, the [edition] reader of `regrowth panel` and the curve reader alike
    (one reader: specs.read_document)."""
    from regrowth import curve

    path = tmp_path / "models.toml"
    path.write_bytes(BASE.replace('"test"', '"재정자립도"', 1).encode("cp949"))
    for read in (specs.load, specs.edition_allow_partial, lambda p: curve.load(p, [])):
        with pytest.raises(SpecificationError, match=r"models\.toml: not UTF-8 text"):
            read(path)
    with pytest.raises(SpecificationError, match="the specification file is missing"):
        specs.read_document(tmp_path / "absent.toml")


@pytest.mark.parametrize("old, new, key, suggestion", [
    ("[[table]]\nid", "[[tabel]]\nid", "tabel", "table"),
    ('title = "T1"', 'titel = "T1"', "titel", "title"),
    ('options = { panels', 'optons = { panels', "optons", "options"),
    ('exclude = ["sejong"]', 'exlude = ["sejong"]', "sample.exlude", "exclude"),
    ('se = { type = "cluster"', 'se = { typ = "cluster"', "se.typ", "type"),
    ('name = "test"', 'nmae = "test"', "edition.nmae", "name"),
])
def test_unknown_keys_at_every_level_are_refused_with_a_did_you_mean(tmp_path, old, new, key,
                                                                     suggestion):
    assert old in BASE
    msg = refused(tmp_path, BASE.replace(old, new, 1), f"key {key!r}", "unknown key",
                  f"did you mean {suggestion!r}")
    if key.startswith(("sample.", "se.", "optons")):
        assert "table 't1', column" in msg


def test_unknown_bootstrap_key_is_refused(tmp_path):
    text = BASE.replace('groups = "region" }',
                        'groups = "region", bootstrap = { rep = 999 } }')
    refused(tmp_path, text, "table 't1', column 'c2'", "key 'se.bootstrap.rep'",
            "did you mean 'reps'")


# ----------------------------------------------------------------------------- types

@pytest.mark.parametrize("old, new, key, reason", [
    ("year_effects = true", 'year_effects = "false"', "year_effects", "must be true or false"),
    ('corr = "ar1" }', 'corr = "ar1", igls = "false" }', "options.igls", "must be a bool"),
    ('corr = "ar1" }', 'corr = "ar1", tol = "1e-7" }', "options.tol",
     "without quotes"),
    ('corr = "ar1" }', 'corr = "ar1", maxiter = true }', "options.maxiter", "must be an int"),
    ('corr = "ar1" }', 'corr = "ar1", maxiter = 10.5 }', "options.maxiter", "must be an int"),
    ('corr = "ar1" }', 'corr = "AR1" }', "options.corr", "did you mean 'ar1'"),
    ("years = [2010, 2019] }\noptions", "years = [2010, true] }\noptions", "sample.years",
     "two integer years"),
    ("years = [2010, 2019] }\noptions", "years = [2019, 2010] }\noptions", "sample.years",
     "first <= last"),
    ('regressors = ["x1", "x2"]', 'regressors = "x1"', "regressors", "must be a list"),
    ('regressors = ["x1", "x2"]', 'regressors = ["x1", "x1"]', "regressors", "twice"),
    ('label = "(1)"', "label = 1", "label", "non-empty string"),
])
def test_values_are_type_checked(tmp_path, old, new, key, reason):
    assert old in BASE
    refused(tmp_path, BASE.replace(old, new, 1), f"key {key!r}", reason, "table 't1', column")


def test_an_int_is_accepted_where_a_float_is_asked(tmp_path):
    s = load(tmp_path, BASE.replace('corr = "ar1" }', 'corr = "ar1", tol = 1, igls = true }'))
    opts = s.columns()[0].options
    assert opts["tol"] == 1.0 and isinstance(opts["tol"], float) and opts["igls"] is True


# ----------------------------------------------------------------------------- regions

@pytest.mark.parametrize("name", ["Sejong", "세종", "세종특별자치시", "sejong"])
def test_excluded_regions_go_through_the_regions_module(tmp_path, name):
    s = load(tmp_path, BASE.replace('exclude = ["sejong"]', f'exclude = ["{name}"]'))
    assert s.columns()[1].sample.exclude == ("sejong",)


def test_an_unknown_region_is_refused_with_a_suggestion(tmp_path):
    refused(tmp_path, BASE.replace('exclude = ["sejong"]', 'exclude = ["Sejongg"]'),
            "key 'sample.exclude'", "unknown region name 'Sejongg'", "did you mean", "sejong")


def test_the_nation_is_not_a_region_to_exclude(tmp_path):
    refused(tmp_path, BASE.replace('exclude = ["sejong"]', 'exclude = ["전국"]'),
            "key 'sample.exclude'", "whole country")


# ----------------------------------------------------------------------------- ids

@pytest.mark.parametrize("bad", ["../../etc", "Table1", "t 1", "t1/x", "", "results/t1"])
def test_table_ids_cannot_name_a_path(tmp_path, bad):
    refused(tmp_path, BASE.replace('id = "t1"', f'id = "{bad}"'), "key 'id'", "[a-z0-9_]+")


def test_column_ids_must_match_the_pattern(tmp_path):
    refused(tmp_path, BASE.replace('id = "c1"', 'id = "../c1"'), "column '../c1'", "key 'id'",
            "[a-z0-9_]+")


def test_duplicate_ids_are_refused(tmp_path):
    refused(tmp_path, BASE.replace('id = "c2"', 'id = "c1"'), "column id 'c1' is used twice")
    second = BASE.split("[[table]]", 1)[1]
    refused(tmp_path, BASE + "\n[[table]]" + second, "table id 't1' is used twice")


def test_a_table_id_may_not_shadow_the_descriptive_tables(tmp_path):
    refused(tmp_path, BASE.replace('id = "t1"', 'id = "descriptives_t2"'), "descriptives_")


# ----------------------------------------------------------------------------- estimators

def test_an_unknown_estimator_is_refused_with_a_did_you_mean(tmp_path):
    refused(tmp_path, BASE.replace('estimator = "fgls"', 'estimator = "fgsl"'),
            "column 'c1'", "key 'estimator'", "did you mean 'fgls'", "gnb")


def test_an_option_of_another_estimator_is_refused(tmp_path):
    refused(tmp_path, BASE.replace('corr = "ar1" }', 'corr = "ar1", bandwidth = 3 }'),
            "key 'options.bandwidth'", "does not apply to fgls", "allowed: panels")


def test_a_kernel_option_needs_kernel_standard_errors(tmp_path):
    text = BASE.replace('estimator = "fgls"', 'estimator = "fe"').replace(
        'options = { panels = "hetero", corr = "ar1" }', 'options = { bandwidth = 2 }')
    refused(tmp_path, text, "key 'options.bandwidth'", "only with se.type = 'kernel'")
    load(tmp_path, text.replace('options = { bandwidth = 2 }',
                                'se = { type = "kernel" }\noptions = { bandwidth = 2 }'))


def test_se_type_must_belong_to_the_estimator(tmp_path):
    refused(tmp_path, BASE.replace('options = { panels', 'se = { type = "robust" }\noptions = { panels'),
            "key 'se.type'", "'robust' is not available for fgls", "['unadjusted']")


def test_cluster_needs_groups_and_groups_need_cluster(tmp_path):
    refused(tmp_path, BASE.replace('se = { type = "cluster", groups = "region" }',
                                   'se = { type = "cluster" }'), "key 'se.groups'", "needs groups")
    refused(tmp_path, BASE.replace('se = { type = "cluster", groups = "region" }',
                                   'se = { type = "robust", groups = "region" }'),
            "key 'se.groups'", "only with se.type = 'cluster'")


def test_dispersion_and_exposure_only_where_the_registry_allows(tmp_path):
    refused(tmp_path, BASE.replace('regressors = ["x1", "x2"]',
                                   'regressors = ["x1", "x2"]\ndispersion = ["x2"]'),
            "key 'dispersion'", "need estimator = 'gnb'")
    refused(tmp_path, BASE.replace('regressors = ["x1", "x2"]',
                                   'regressors = ["x1", "x2"]\nexposure = "x2"'),
            "key 'exposure'", "not 'fgls'")


def test_every_problem_is_reported_at_once(tmp_path):
    text = BASE.replace('exclude = ["sejong"]', 'exlude = ["sejong"]').replace(
        'estimator = "fgls"', 'estimator = "tobit"')
    msg = refused(tmp_path, text, "2 problems", "sample.exlude", "unknown estimator 'tobit'")
    assert msg.count(str(tmp_path / "models.toml")) == 2


# ----------------------------------------------------------------------------- effects

@pytest.mark.parametrize("estimator", ["gnb", "nb2", "poisson", "fgls", "re", "fe", "pooled"])
def test_year_effects_are_accepted_for_every_estimator(tmp_path, estimator):
    text = BASE.replace('estimator = "fgls"', f'estimator = "{estimator}"').replace(
        'options = { panels = "hetero", corr = "ar1" }\n', "year_effects = true\n")
    assert load(tmp_path, text).columns()[0].year_effects


def test_province_effects_are_refused_for_random_effects(tmp_path):
    text = BASE.replace('estimator = "fgls"', 'estimator = "re"').replace(
        'options = { panels = "hetero", corr = "ar1" }\n', "province_effects = true\n")
    refused(tmp_path, text, "key 'province_effects'", "re cannot have province effects",
            "estimator = 'fe'")


def test_fixed_effects_always_have_province_effects(tmp_path):
    text = BASE.replace('estimator = "fgls"', 'estimator = "fe"').replace(
        'options = { panels = "hetero", corr = "ar1" }\n', "")
    assert load(tmp_path, text).columns()[0].province_effects is True
    refused(tmp_path, text.replace('title = "FGLS"', 'title = "FGLS"\nprovince_effects = false'),
            "key 'province_effects'", "always has province")


def test_province_effects_are_accepted_for_lsdv_estimators(tmp_path):
    for est in ("fgls", "pooled", "gnb", "nb2", "poisson"):
        text = BASE.replace('estimator = "fgls"', f'estimator = "{est}"').replace(
            'options = { panels = "hetero", corr = "ar1" }\n', "province_effects = true\n")
        assert load(tmp_path, text).columns()[0].province_effects is True


# ----------------------------------------------------------------------------- bootstrap, focus, curve

def test_bootstrap_settings_are_stored_with_defaults(tmp_path):
    s = load(tmp_path, BASE.replace('groups = "region" }',
                                    'groups = "region", bootstrap = { reps = 999, weights = "webb" } }'))
    boot = s.columns()[1].bootstrap
    assert (boot.reps, boot.weights, boot.seed, boot.impose_null) == (999, "webb", 20181121, True)


@pytest.mark.parametrize("boot, key, reason", [
    ('{ reps = "999" }', "se.bootstrap.reps", "must be an integer"),
    ('{ weights = "webbs" }', "se.bootstrap.weights", "did you mean 'webb'"),
    ('{ impose_null = 1 }', "se.bootstrap.impose_null", "must be true or false"),
    ('{ seed = 1.5 }', "se.bootstrap.seed", "must be an integer"),
    ('{ reps = 1_000_000_000 }', "se.bootstrap.reps",
     "must be <= 100,000 (regrowth.inference.weights.MAX_REPS"),
    ('{ reps = 0 }', "se.bootstrap.reps", "must be >= 1"),
])
def test_bad_bootstrap_settings_are_refused(tmp_path, boot, key, reason):
    refused(tmp_path, BASE.replace('groups = "region" }', f'groups = "region", bootstrap = {boot} }}'),
            f"key {key!r}", reason)


def test_stars_follow_the_bootstrap_where_one_is_declared_unless_the_spec_says_analytic(tmp_path):
    boot = 'groups = "region", bootstrap = { reps = 99 }'
    s = load(tmp_path, BASE.replace('groups = "region" }', boot + " }"))
    assert [c.stars for c in s.columns()] == ["analytic", "bootstrap"]
    s = load(tmp_path, BASE.replace('groups = "region" }', boot + ', stars = "analytic" }'))
    assert s.columns()[1].stars == "analytic"


@pytest.mark.parametrize("se, reason", [
    ('groups = "region", stars = "bootstrap" }', "needs an se.bootstrap"),
    ('groups = "region", bootstrap = { reps = 99 }, stars = "bootstap" }', "did you mean 'bootstrap'"),
])
def test_bad_star_sources_are_refused(tmp_path, se, reason):
    refused(tmp_path, BASE.replace('groups = "region" }', se), "key 'se.stars'", reason)


def test_a_bootstrap_needs_clusters(tmp_path):
    refused(tmp_path, BASE.replace('options = { panels', 'se = { bootstrap = { reps = 99 } }\noptions = { panels'),
            "key 'se.bootstrap'", "needs se.groups")


def test_focus_terms_must_be_regressors_of_the_table(tmp_path):
    s = load(tmp_path, BASE.replace('title = "T1"', 'title = "T1"\nfocus = ["x1"]'))
    assert s.tables[0].focus == ("x1",)
    refused(tmp_path, BASE.replace('title = "T1"', 'title = "T1"\nfocus = ["x3"]'),
            "table 't1'", "key 'focus'", "'x3' is not a regressor")


def test_a_focus_term_only_in_the_dispersion_of_a_bootstrap_column_is_refused(tmp_path):
    # column c1 has 'flag' nowhere; column c2 has it only in its ln(alpha) equation, where
    # the bootstrap (mean-equation coefficients) would silently give it no line
    text = BASE.replace('regressors = ["x1", "x2"]', 'regressors = ["x1", "x2", "flag"]')
    text = text.replace('title = "T1"', 'title = "T1"\nfocus = ["flag"]')
    load(tmp_path, text)   # without a bootstrap: fine (c1 has it as a regressor)
    boot = text.replace('se = { type = "cluster", groups = "region" }',
                        'se = { type = "cluster", groups = "region", bootstrap = { reps = 99 } }')
    refused(tmp_path, boot, "table 't1'", "key 'focus'",
            "'flag' is in the dispersion (ln alpha) equation of column 'c2' only",
            "Remove it from focus")
    both = boot.replace('regressors = ["x1"]\ndispersion', 'regressors = ["x1", "flag"]\ndispersion')
    assert load(tmp_path, both).tables[0].focus == ("flag",)   # in both equations: tested


def test_a_curve_section_is_kept_for_the_multiverse_module(tmp_path):
    """[[curve]] blocks are the curve module's vocabulary (regrowth.curve.validate, which the
    driver calls before fitting): the spec reader keeps them as written and only refuses a
    section that is not an array of tables."""
    text = BASE + '\n[[curve]]\nid = "c"\n'
    s = load(tmp_path, text)
    assert s.curve == ({"id": "c"},)
    assert specs.check_against(s, ["y", "n", "x1", "x2", "flag", "region", "year"]) == {}
    refused(tmp_path, "curve = 3\n" + BASE, "key 'curve'", "array of tables")


# ----------------------------------------------------------------------------- panel checks

def _panel() -> pd.DataFrame:
    """A tiny synthetic panel (not real data)."""
    idx = pd.MultiIndex.from_product([["seoul", "busan", "daegu"], range(2010, 2020)],
                                     names=["region", "year"])
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.normal(size=30), "n": rng.poisson(3, 30), "x1": rng.normal(size=30),
                         "x2": rng.normal(size=30), "flag": [0, 1] * 15,
                         "level": np.arange(30.0), "macro_region": ["capital"] * 10 + ["dongnam"] * 20},
                        index=idx)


def test_drop_if_variables_must_be_0_1_flags(tmp_path):
    ok = load(tmp_path, BASE.replace("years = [2010, 2019] }\noptions",
                                     'years = [2010, 2019], drop_if = ["flag"] }\noptions'))
    assert specs.check_against(ok, _panel()) == {}
    bad = load(tmp_path, BASE.replace("years = [2010, 2019] }\noptions",
                                      'years = [2010, 2019], drop_if = ["level"] }\noptions'))
    with pytest.raises(SpecificationError) as err:
        specs.check(bad, _panel())
    msg = str(err.value)
    assert "column 'c1'" in msg and "key 'sample.drop_if'" in msg and "'level' is not a 0/1 flag" in msg


def test_cluster_groups_must_be_a_panel_column(tmp_path):
    s = load(tmp_path, BASE.replace('groups = "region"', 'groups = "macro_regoin"'))
    with pytest.raises(SpecificationError) as err:
        specs.check(s, _panel())
    assert "key 'se.groups'" in str(err.value) and "did you mean 'macro_region'" in str(err.value)
    s = load(tmp_path, BASE.replace('groups = "region"', 'groups = "macro_region"'))
    assert specs.check_against(s, _panel()) == {}


def test_a_missing_variable_names_the_kosis_table(tmp_path):
    s = load(tmp_path, BASE.replace('regressors = ["x1", "x2"]', 'regressors = ["fiscal_autonomy_l1"]'))
    with pytest.raises(SpecificationError) as err:
        specs.check(s, _panel())
    assert "DT_1YL20891" in str(err.value) and "column 'c1'" in str(err.value)


# ----------------------------------------------------------------------------- the project file

def test_the_project_spec_file_carries_the_generated_key_list():
    """The header of specs/models.toml is schema_comment(), rendered from the registry:
    an estimator, option or SE type added to the registry must be documented there."""
    text = (ROOT / "specs" / "models.toml").read_text(encoding="utf-8")
    assert specs.schema_comment() in text, (
        "regenerate the header: PYTHONPATH=src python -m regrowth.specs")


def test_the_key_list_names_every_registered_estimator_option_and_se_type():
    comment = specs.schema_comment()
    for entry in registry.entries():
        assert entry.name in comment
        for option in entry.options:
            assert option.name in comment
    for key in specs.COLUMN_KEYS + specs.SAMPLE_KEYS + specs.BOOTSTRAP_KEYS:
        assert key in comment, key


def test_the_project_spec_file_loads():
    s = specs.load(ROOT / "specs" / "models.toml")
    assert len(s.columns()) >= 17
    growth = [c for c in s.columns() if c.table == "table2_growth" and c.id != "fgls_no_year"]
    assert growth and all(c.year_effects for c in growth)


def test_the_outcome_cannot_be_a_regressor(tmp_path):
    refused(tmp_path, BASE.replace('regressors = ["x1", "x2"]', 'regressors = ["x1", "y"]'),
            "column 'c1'", "key 'regressors'", "lists the outcome 'y' itself")


# --------------------------------------------------------------------------- macro-region tables

MACRO = BASE.replace('id = "t1"\ntitle = "T1"', 'id = "t1"\ntitle = "T1"\nunit = "macro_region"')


def test_a_table_of_macro_regions_marks_each_of_its_columns(tmp_path):
    s = load(tmp_path, MACRO.replace(', exclude = ["sejong"]', ""))
    assert s.table("t1").unit == "macro_region"
    assert {c.unit for c in s.columns()} == {"macro_region"}
    assert load(tmp_path, BASE).columns()[0].unit == "region"


def test_an_unknown_unit_is_refused_with_the_known_ones(tmp_path):
    refused(tmp_path, MACRO.replace('unit = "macro_region"', 'unit = "macro_regoin"'),
            "key 'unit'", "'region', 'macro_region'", "did you mean 'macro_region'")


def test_a_macro_region_table_cannot_exclude_provinces(tmp_path):
    refused(tmp_path, MACRO, "column 'c2'", "sample.exclude", "rows of this table are macro-regions")


def test_macro_region_columns_are_checked_against_the_macro_panel(tmp_path):
    s = load(tmp_path, MACRO.replace(', exclude = ["sejong"]', ""))
    # without a macro-region panel every column says which file to build
    problems = specs.check_against(s, ["y", "x1", "x2", "n", "flag", "region", "year"])
    assert set(problems) == {"t1/c1", "t1/c2"}
    assert "macro_panel.parquet" in str(problems["t1/c1"]) and "make panel" in str(problems["t1/c1"])
    # with one, the variables are looked up there, not in the province panel
    problems = specs.check_against(s, ["region", "year"], macro=["y", "x1", "x2", "n"])
    assert list(problems) == ["t1/c2"] and "'flag'" in str(problems["t1/c2"])
    assert "macro-region panel does not have" in str(problems["t1/c2"])


def test_slx_adds_the_spatial_lags_to_the_regressors(tmp_path):
    text = BASE.replace('options = { panels = "hetero", corr = "ar1" }',
                        'options = { panels = "hetero", corr = "ar1" }\nslx = ["x1"]', 1)
    c1 = load(tmp_path, text).columns()[0]
    assert c1.regressors == ("x1", "x2", "w_x1") and c1.slx == ("x1",)
    assert c1.slx_weights == "contiguity" and "w_x1" not in c1.variables()
    text = text.replace('slx = ["x1"]', 'slx = { variables = ["x2"], weights = "knn", k = 2 }')
    c1 = load(tmp_path, text).columns()[0]
    assert c1.regressors[-1] == "w_x2" and (c1.slx_weights, c1.slx_k) == ("knn", 2)
    # a spatial lag can carry its own test clusters like any regressor
    text = text.replace('slx = {', 'se = { type = "unadjusted", groups = "region", bootstrap = '
                        '{ reps = 99 }, tests = { w_x2 = { groups = "macro_region" } } }\nslx = {')
    c1 = load(tmp_path, text).columns()[0]
    assert c1.test_of("w_x2")[0] == "macro_region"


def test_bad_slx_keys_are_named(tmp_path):
    text = BASE.replace('options = { panels = "hetero", corr = "ar1" }',
                        'options = { panels = "hetero", corr = "ar1" }\n'
                        'slx = { variables = ["x1"], weights = "contiguty", kk = 1 }', 1)
    refused(tmp_path, text, "key 'slx.weights'", "did you mean 'contiguity'", "key 'slx.kk'")


def test_an_slx_variable_the_panel_lacks_is_named_under_the_slx_key(tmp_path):
    text = BASE.replace('options = { panels = "hetero", corr = "ar1" }',
                        'options = { panels = "hetero", corr = "ar1" }\nslx = ["x7"]', 1)
    s = load(tmp_path, text)
    problems = specs.check_against(s, ["region", "year", "y", "x1", "x2", "n", "z1",
                                       "capital_region", "ln_population"])
    msg = str(problems["t1/c1"])
    assert "key 'slx': 'x7' is not a panel column" in msg
