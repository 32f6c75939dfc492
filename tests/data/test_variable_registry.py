"""Derived variables live in the variable registry (regrowth.sources.variables), beside the
sources: hints trace a derived column to its source table without importing the panel, and
``regrowth.panel.DERIVED`` stays importable as the same tuple."""

from __future__ import annotations

import subprocess
import sys

import pytest

from regrowth.sources import registry, variables


def test_panel_derived_is_the_registry_tuple():
    from regrowth import panel
    assert panel.DERIVED is variables.DERIVED and panel.Derived is variables.Derived


def test_supplier_hint_traces_derived_columns_without_importing_the_panel():
    code = ("import sys; from regrowth.sources.registry import supplier_hint as h; "
            "print(h('fiscal_autonomy_l1')); print(h('ln_patents_all_pm_l1')); "
            "print(h('ln_universities_p10k_l1')); print('regrowth.panel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert "kosis_fiscal_autonomy_data.csv" in out[0] and "DT_1YL20891" in out[0]
    assert "data/raw/kosis/DT_1YL202109E.csv" in out[1]
    assert "DT_1963003_013" in out[2] and "대학_개황" in out[2]
    assert out[3] == "False"


@pytest.mark.parametrize("name, first_input", [
    ("fiscal_autonomy_old_l1", "fiscal_autonomy_old"), ("ln_universities_p10k", "universities_p10k"),
    ("ln_patents_all_macro_l1", "ln_patents_all_macro"), ("patents_all_macro", "patents_pm_macro"),
])
def test_derived_inputs_walk_back_to_base_variables(name, first_input):
    chain = variables.derived_inputs(name)
    assert chain[0] == first_input
    assert any(v in registry.VARIABLES for v in chain)


def test_every_input_of_a_derived_column_is_declared():
    known = set(registry.VARIABLES) | set(variables.DERIVED_BY_NAME)
    for d in variables.DERIVED:
        assert set(d.inputs) <= known, d.name
        assert d.name not in registry.VARIABLES


@pytest.mark.parametrize("name", ["fiscal_autonomy_l1", "fiscal_autonomy_old_l1",
                                  "ln_universities_p10k", "ln_university_students_p10k",
                                  "employment_rate_l1", "ln_consumption_pc", "kiet_rdi_l1",
                                  "ln_patents_all_macro_l1"])
def test_the_new_model_columns_are_in_the_panel_and_codebook(public_build, name):
    assert name in public_build.panel.columns
    assert name in set(public_build.codebook["name"])


def test_macro_rules_name_only_declared_variables():
    known = set(registry.VARIABLES) | set(variables.DERIVED_BY_NAME)
    assert set(variables.MACRO_RULES) <= known
    assert set(variables.MACRO_RULES.values()) <= set(variables.RULE_TEXT)
