"""The accent-folded search form of names."""

import pytest

from registry.mediators.names import search_form


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("Müller", "muller mueller"),
        ("Mueller", "mueller muller"),
        ("Łukasz Wiśniewski", "lukasz wisniewski"),
        ("Nguyễn Thị", "nguyen thi"),
        ("Søndergaard", "sondergaard"),
        ("Işıl Yılmaz", "isil yilmaz"),
        ("Jürgen Schäfer", "jurgen schafer juergen schaefer"),
        ("Ólafsdóttir", "olafsdottir"),
        ("Straße", "strasse"),
        ("O'Connor", "o connor oconnor"),
        ("  Ana   MARIA ", "ana maria"),
    ],
)
def test_search_form(name, form):
    assert search_form(name) == form
