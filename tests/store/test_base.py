"""The contract's own types: a subscriber's place, written and read back."""

from __future__ import annotations

import pytest

from bot.store import Place, PlaceKind


@pytest.mark.parametrize(
    ("place", "text"),
    [
        (Place.area("centro"), "area:centro"),
        (Place.postcode("28013"), "postcode:28013"),
        (Place.service("permits"), "service:permits"),
        (Place(PlaceKind.AREA, "a:b"), "area:a:b"),  # only the first colon separates
    ],
)
def test_a_place_is_written_as_kind_and_value_and_read_back(place: Place, text: str) -> None:
    assert str(place) == text
    assert Place.parse(text) == place


@pytest.mark.parametrize("text", ["centro", "town:centro", "area:", "area: centro", ""])
def test_what_is_no_place_is_refused_with_the_forms_that_are(text: str) -> None:
    with pytest.raises(ValueError, match="area:ID, postcode:CODE or service:ID"):
        Place.parse(text)


def test_a_place_needs_a_value_and_a_known_kind() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        Place.postcode("")
    with pytest.raises(ValueError, match="an area, a postcode or a service"):
        Place("town", "centro")  # type: ignore[arg-type]


def test_places_sort_by_kind_then_value() -> None:
    places = [Place.service("b"), Place.postcode("2"), Place.area("z"), Place.area("a")]
    assert [str(p) for p in sorted(places)] == ["area:a", "area:z", "postcode:2", "service:b"]
