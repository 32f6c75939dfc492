"""The statute registry: one place for the reform's numbers, each with its source."""

import pytest

from regrowth.errors import SpecificationError
from regrowth.reform import statute


def test_rates_by_year_are_the_statutory_shares_of_vat():
    expected = {2013: 0.05, 2014: 0.11, 2018: 0.11, 2019: 0.15, 2020: 0.21, 2021: 0.21,
                2022: 0.237, 2023: 0.253, 2025: 0.253}
    assert {y: statute.rate(y) for y in expected} == expected
    assert statute.BASE_RATE == 0.11


def test_weights_are_one_two_three_by_region_type():
    assert statute.WEIGHTS == {"capital": 1.0, "metropolitan": 2.0, "province": 3.0}
    assert {r for r, k in statute.REGION_TYPES.items() if k == "capital"} == {"seoul", "incheon",
                                                                             "gyeonggi"}
    assert {r for r, k in statute.REGION_TYPES.items() if k == "metropolitan"} == {
        "busan", "daegu", "gwangju", "daejeon", "ulsan"}
    assert len(statute.REGION_TYPES) == 17
    assert statute.weight("jeju") == 3.0


def test_every_confirmed_parameter_names_its_stored_source_and_legal_basis():
    for p in statute.REGISTRY.values():
        if p.confirmed:
            assert p.source_url.startswith("http") and p.source_title, p.name
            assert p.value is not None, p.name
        assert p.legal_basis, p.name


def test_unconfirmed_parameters_are_printed_by_notes():
    unconfirmed = {p.name for p in statute.REGISTRY.values() if not p.confirmed}
    assert {"sejong_type", "vat_revenue", "key_all_increments",
            "fund_capital_share_increment"} <= unconfirmed
    lines = statute.notes()
    assert len(lines) == len(unconfirmed)
    for name in unconfirmed:
        assert any(line.startswith(f"{name}: not confirmed") for line in lines)


def test_a_year_outside_the_registry_and_a_province_without_type_are_errors():
    with pytest.raises(SpecificationError, match="2009"):
        statute.rate(2009)
    with pytest.raises(SpecificationError, match="'atlantis'"):
        statute.region_type("atlantis")
    with pytest.raises(SpecificationError, match="'seoul'.*'capitol'"):
        statute.region_type("seoul", {"seoul": "capitol"})


def test_registry_table_has_one_row_per_parameter():
    frame = statute.to_frame()
    assert list(frame["name"]) == list(statute.REGISTRY)
    assert {"value", "legal_basis", "source_url", "confirmed", "note"} <= set(frame.columns)
