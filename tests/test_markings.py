"""TLP 2.0 levels, distributions and the rule that ties them."""

from __future__ import annotations

import pytest

from shieldwall.markings import (
    STIX21_TLP_MARKING_IDS,
    TLP,
    Distribution,
    allows,
    cap_distribution,
    tlp_of,
)


def test_red_only_with_org_or_group() -> None:
    assert {d for d in Distribution if allows(TLP.RED, d)} == {Distribution.ORG, Distribution.GROUP}


@pytest.mark.parametrize("tlp", [TLP.AMBER, TLP.AMBER_STRICT])
def test_amber_never_beyond_federation(tlp: TLP) -> None:
    assert not allows(tlp, Distribution.ALL)
    assert allows(tlp, Distribution.FEDERATION)


@pytest.mark.parametrize("tlp", [TLP.GREEN, TLP.CLEAR])
def test_green_and_clear_go_anywhere(tlp: TLP) -> None:
    assert all(allows(tlp, d) for d in Distribution)


def test_white_reads_as_clear_and_labels_round_trip() -> None:
    assert TLP.parse("white") is TLP.CLEAR
    assert TLP.parse("TLP:AMBER+STRICT") is TLP.AMBER_STRICT
    assert all(TLP.parse(t.label) is t for t in TLP)
    with pytest.raises(ValueError, match="unknown TLP level"):
        TLP.parse("purple")


def test_tlp_of_takes_the_strictest_known_marking() -> None:
    stix_white = next(k for k, v in STIX21_TLP_MARKING_IDS.items() if v is TLP.CLEAR)
    assert tlp_of([stix_white]) is TLP.CLEAR
    assert tlp_of([stix_white, TLP.RED.marking_id]) is TLP.RED
    assert tlp_of(["marking-definition--00000000-0000-4000-8000-000000000000"]) is None
    assert tlp_of(None) is None


def test_cap_distribution_narrows_only_what_the_tlp_forbids() -> None:
    assert cap_distribution(TLP.RED, Distribution.COMMUNITY) is Distribution.ORG
    assert cap_distribution(TLP.AMBER, Distribution.ALL) is Distribution.FEDERATION
    assert cap_distribution(TLP.GREEN, Distribution.ALL) is Distribution.ALL
