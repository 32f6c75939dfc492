"""regrowth.names: the one rule for table and curve names typed on the command line."""

from __future__ import annotations

import pytest

from regrowth import names
from regrowth.errors import RegrowthError, SpecificationError

TABLES = ["table1_innovation", "table2_growth", "table5_innovation_within", "table5_variation"]


@pytest.mark.parametrize("typed, expected", [
    ("table2_growth", "table2_growth"),        # the id
    ("table2", "table2_growth"),               # a unique prefix
    ("TABLE1", "table1_innovation"),           # case ignored
    ("table5_v", "table5_variation"),
])
def test_an_id_or_a_unique_prefix_names_one_table(typed, expected):
    assert names.resolve(typed, TABLES) == expected


def test_an_exact_id_wins_over_a_longer_id_it_starts():
    assert names.resolve("t1", ["t1", "t10"]) == "t1"


def test_an_ambiguous_prefix_is_refused_naming_every_match():
    with pytest.raises(RegrowthError, match=r"--only 'table5' is ambiguous: it starts 2 table ids "
                                            r"\(table5_innovation_within, table5_variation\); "
                                            r"give more of the name"):
        names.resolve("table5", TABLES, option="--only")


def test_an_unknown_name_gets_the_closest_id_and_the_list():
    with pytest.raises(SpecificationError) as err:
        names.resolve("tabel2", TABLES, option="--only", where="specs/models.toml",
                      error=SpecificationError)
    assert str(err.value) == ("--only 'tabel2': no such table in specs/models.toml (did you mean "
                              "'table2_growth'?); valid table ids: " + ", ".join(TABLES))


def test_resolve_all_keeps_order_and_drops_repeats():
    assert names.resolve_all(["table2", "table1", "table2_growth"], TABLES) == [
        "table2_growth", "table1_innovation"]
    assert names.resolve_all(None, TABLES) is None
