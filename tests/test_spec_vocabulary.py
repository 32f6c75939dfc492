"""The spec file's shared vocabulary: ``extends``, ``[lists]``, ``[[figure]]`` and tables that
only carry an analysis. Each refusal names the file, the table/column and the key."""

from __future__ import annotations

import pytest

from regrowth.errors import SpecificationError

from test_specs import BASE, load, refused

EXTENDING = BASE + """
[[table.column]]
id = "c3"
label = "(3)"
title = "GNB, OIM"
extends = "c2"
se = { type = "oim" }
rationale = "inherits everything from c2 but the SEs"
"""


def test_extends_inherits_every_key_but_the_column_s_own(tmp_path):
    s = load(tmp_path, EXTENDING)
    c2, c3 = s.tables[0].columns[1], s.tables[0].columns[2]
    assert (c3.estimator, c3.outcome, c3.regressors, c3.dispersion, c3.sample, c3.year_effects) \
        == (c2.estimator, c2.outcome, c2.regressors, c2.dispersion, c2.sample, c2.year_effects)
    assert (c3.label, c3.title, c3.rationale) == ("(3)", "GNB, OIM",
                                                  "inherits everything from c2 but the SEs")
    # a key given replaces the inherited value whole: no groups, no bootstrap inherited
    assert c3.se_type == "oim" and c3.se_groups is None and c3.bootstrap is None


def test_extends_across_tables_and_in_chains(tmp_path):
    text = EXTENDING + """
[[table]]
id = "t2"
title = "T2"

[[table.column]]
id = "d1"
label = "(1)"
title = "from t1/c3"
extends = "t1/c3"
year_effects = false
rationale = "chain: d1 <- c3 <- c2"
"""
    d1 = load(tmp_path, text).table("t2").columns[0]
    assert d1.estimator == "gnb" and d1.dispersion == ("flag",) and d1.se_type == "oim"
    assert d1.year_effects is False


def test_extends_refuses_unknown_targets_and_cycles(tmp_path):
    refused(tmp_path, EXTENDING.replace('extends = "c2"', 'extends = "c22"'),
            "column 'c3'", "key 'extends'", "'c22' is not a column", "did you mean 't1/c2'")
    cyclic = EXTENDING.replace('id = "c2"\n', 'id = "c2"\nextends = "c3"\n')
    refused(tmp_path, cyclic, "key 'extends'", "leads back to this column")


def test_lists_are_written_once_and_named_with_at(tmp_path):
    text = '[lists]\nboth = ["x1", "x2"]\n' + BASE.replace(
        'regressors = ["x1", "x2"]', 'regressors = ["@both"]').replace(
        'regressors = ["x1"]', 'regressors = ["@both", "x3"]')
    s = load(tmp_path, text)
    assert s.tables[0].columns[0].regressors == ("x1", "x2")
    assert s.tables[0].columns[1].regressors == ("x1", "x2", "x3")
    assert s.lists == {"both": ("x1", "x2")}
    refused(tmp_path, text.replace('["@both", "x3"]', '["@bth"]'),
            "column 'c2'", "key 'regressors'", "'@bth' names no list", "did you mean 'both'")


def test_figures_are_declared_in_the_spec(tmp_path):
    text = BASE + """
[[figure]]
variable = "x1"
label = "X one"
kind = "log"
highlight = ["Seoul", "부산"]
source = "Source: synthetic."
"""
    (fig,) = load(tmp_path, text).figures
    assert (fig.variable, fig.kind, fig.highlight) == ("x1", "log", ("seoul", "busan"))
    refused(tmp_path, text.replace('kind = "log"', 'kind = "lg"'), "figure #1", "key 'kind'",
            "did you mean 'log'")
    refused(tmp_path, text.replace('"부산"', '"Atlantis"'), "figure #1", "key 'highlight'",
            "unknown region name")


def test_a_table_without_columns_needs_an_analysis_that_writes_it(tmp_path):
    bare = BASE + '\n[[table]]\nid = "t9"\ntitle = "T9"\n'
    refused(tmp_path, bare, "table 't9'", "key 'column'", "has no [[table.column]]")
    s = load(tmp_path, bare + '[table.analyses]\nreform = { endog = "x1" }\n')
    assert s.table("t9").columns == () and s.table("t9").analyses == {"reform": {"endog": "x1"}}


@pytest.mark.parametrize("key", ["extends", "analyses", "tests", "reference"])
def test_the_header_documents_the_new_keys(key):
    from regrowth.specs import schema_comment

    assert key in schema_comment()


# ----------------------------------------------------------------------------- se.tests

TESTED = BASE.replace(
    'se = { type = "cluster", groups = "region" }',
    'se = { type = "cluster", groups = "region", bootstrap = { reps = 999, weights = "webb" }, '
    'tests = { x1 = { groups = "macro_region", bootstrap = { weights = "rademacher" } } } }')


def test_a_coefficient_s_test_declares_its_own_clusters_and_bootstrap(tmp_path):
    c2 = load(tmp_path, TESTED).tables[0].columns[1]
    (test,) = c2.tests
    assert (test.term, test.groups, test.bootstrap.weights, test.bootstrap.reps) \
        == ("x1", "macro_region", "rademacher", 9999)
    groups, boot = c2.test_of("x1")
    assert groups == "macro_region" and boot is test.bootstrap
    # the other coefficients keep the column's clusters and bootstrap
    assert c2.test_of("x9") == ("region", c2.bootstrap)
    # the test's clusters are read with the model's variables (listwise sample, panel check)
    assert "macro_region" in c2.variables()


def test_a_test_without_its_own_bootstrap_takes_the_column_s(tmp_path):
    text = TESTED.replace(', bootstrap = { weights = "rademacher" } } }', ' } }')
    c2 = load(tmp_path, text).tables[0].columns[1]
    assert c2.test_of("x1") == ("macro_region", c2.bootstrap)
    assert c2.bootstrap.weights == "webb"


@pytest.mark.parametrize("old, new, key, reason", [
    ('tests = { x1 =', 'tests = { x7 =', "se.tests.x7", "'x7' is not a regressor"),
    ('groups = "macro_region"', 'group = "macro_region"', "se.tests.x1.group",
     "did you mean 'groups'"),
    ('{ groups = "macro_region", ', '{ ', "se.tests.x1.groups", "is required"),
    ('weights = "rademacher"', 'weights = "rademaker"', "se.tests.x1.bootstrap.weights",
     "did you mean 'rademacher'"),
])
def test_bad_coefficient_tests_are_refused_naming_the_key(tmp_path, old, new, key, reason):
    refused(tmp_path, TESTED.replace(old, new), "column 'c2'", f"key {key!r}", reason)


def test_a_test_needs_a_bootstrap(tmp_path):
    text = TESTED.replace('bootstrap = { reps = 999, weights = "webb" }, ', '').replace(
        ', bootstrap = { weights = "rademacher" } } }', ' } }')
    refused(tmp_path, text, "key 'se.tests.x1'", "needs a bootstrap")


def test_a_test_s_groups_must_be_a_panel_column(tmp_path):
    from regrowth import specs
    from test_specs import _panel

    s = load(tmp_path, TESTED.replace('"macro_region"', '"macro_regoin"'))
    with pytest.raises(SpecificationError) as err:
        specs.check(s, _panel())
    assert "key 'se.tests.x1.groups'" in str(err.value)
    assert "did you mean 'macro_region'" in str(err.value)
    assert specs.check_against(load(tmp_path, TESTED), _panel()) == {}


# ----------------------------------------------------------------------------- se.reference

def test_the_reference_distribution_is_declared_per_column(tmp_path):
    s = load(tmp_path, BASE.replace('groups = "region" }', 'groups = "region", reference = "t(G-1)" }'))
    assert [c.reference for c in s.columns()] == ["model", "t(G-1)"]
    refused(tmp_path, BASE.replace('groups = "region" }', 'groups = "region", reference = "t" }'),
            "column 'c2'", "key 'se.reference'", "must be one of")
    refused(tmp_path, BASE.replace('options = { panels', 'se = { reference = "t(G-1)" }\noptions = { panels'),
            "column 'c1'", "key 'se.reference'", "needs clustered standard errors")
