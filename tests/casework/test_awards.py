"""Annual awards: collectives from cumulative ranks with ties, recorded decisions, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.assessment import AssessmentError, QuarterScore, rank
from casework.awards import (
    Decision,
    DirectorInput,
    Nomination,
    advanced_collectives,
    quarter_ranks,
    record_director_awards,
    record_window_awards,
    validate_nominations,
)

MEETING = Decision("主任办公会", dt.date(2026, 12, 28), "纪要〔2026〕12号")


def quarter(**totals: int):
    return rank([QuarterScore(u, {}, (), 0, (), t) for u, t in totals.items()])


def test_collectives_lowest_rank_sum():
    year = [quarter(A=95, B=90, C=85, D=80, E=70), quarter(A=90, B=95, C=85, D=80, E=70),
            quarter(A=95, B=90, C=80, D=85, E=70), quarter(A=95, B=90, C=85, D=80, E=70)]
    result = advanced_collectives(year)
    assert result.chosen == ("A", "B", "C") and result.for_meeting == () and result.open_places == 0
    assert [(s.unit, s.rank_sum) for s in result.standings][:3] == [("A", 5), ("B", 7), ("C", 13)]


def test_tie_on_rank_sum_broken_by_total_score():
    # C and D both sum 6 ranks over 2 quarters; C has the higher total score
    year = [quarter(A=99, B=98, C=97, D=90), quarter(A=99, B=98, D=97, C=96)]
    result = advanced_collectives(year)
    assert result.chosen == ("A", "B", "C")
    assert {s.unit: s.rank_sum for s in result.standings} == {"A": 2, "B": 4, "C": 7, "D": 7}


def test_full_tie_across_cut_goes_to_meeting():
    year = [quarter(A=99, B=98, C=90, D=90), quarter(A=99, B=98, C=90, D=90)]
    result = advanced_collectives(year)
    assert result.chosen == ("A", "B")
    assert result.for_meeting == ("C", "D") and result.open_places == 1
    assert [s.place for s in result.standings] == [1, 2, 3, 3]


def test_tie_within_places_both_chosen():
    result = advanced_collectives([quarter(A=90, B=90, C=80, D=70)])
    assert result.chosen == ("A", "B", "C") and result.open_places == 0


def test_fewer_units_than_places():
    result = advanced_collectives([quarter(A=90, B=80)])
    assert result.chosen == ("A", "B") and result.open_places == 0


def test_quarter_ranks_in_order():
    q1, q2 = quarter(A=90), quarter(A=80)
    assert quarter_ranks({"2026Q2": q2, "2026Q1": q1}) == [q1, q2]


def test_collectives_bad_input():
    with pytest.raises(AssessmentError, match="every quarter"):
        advanced_collectives([quarter(A=90, B=80), quarter(A=90)])
    with pytest.raises(AssessmentError, match="between 1 and 4"):
        advanced_collectives([])
    with pytest.raises(AssessmentError, match="twice"):
        advanced_collectives([quarter(A=90) + quarter(A=80)])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 100), min_size=6, max_size=6), min_size=1, max_size=4))
def test_collectives_properties(rows):
    year = [quarter(**{f"U{i}": t for i, t in enumerate(row)}) for row in rows]
    result = advanced_collectives(year)
    assert len(result.chosen) + result.open_places == 3
    assert not set(result.chosen) & set(result.for_meeting)
    assert len(result.for_meeting) > result.open_places or result.open_places == 0
    key = {s.unit: (s.rank_sum, -s.total_sum) for s in result.standings}
    for c in result.chosen:  # nobody left out is strictly better than someone chosen
        assert all(key[o] >= key[c] for o in key if o not in result.chosen)


def noms() -> list[Nomination]:
    out = []
    for u in "ABCDEFG":
        out.append(Nomination(u, f"{u}1", f"员工{u}1", f"W{u}"))
        if u < "E":
            out.append(Nomination(u, f"{u}2", f"员工{u}2", f"W{u}"))
    return out  # 11 people from 7 sub-centres


def test_window_awards_recorded_with_inputs():
    awards = record_window_awards(noms(), ["A1", "B1", "C1", "D1", "E1"], ["F1", "G1", "A2", "B2", "C2"], MEETING)
    assert [n.person for n in awards.models] == ["A1", "B1", "C1", "D1", "E1"]
    assert len(awards.nominations) == 11 and awards.decision == MEETING


def test_window_awards_bad_decisions():
    with pytest.raises(AssessmentError) as exc:
        record_window_awards(noms(), ["A1", "B1", "C1", "D1"], ["A1", "G1", "A2", "B2", "ZZ"],
                             Decision("", dt.date(2026, 12, 28), ""))
    codes = sorted(e.code for e in exc.value.errors)
    assert codes == ["awards.count", "awards.decision_record", "awards.not_nominated", "awards.person_twice"]


def test_nominations_validated():
    validate_nominations(noms())
    three = [*noms(), Nomination("A", "A3", "员工A3", "WA")]
    with pytest.raises(AssessmentError, match="each sub-centre nominates 1 to 2"):
        validate_nominations(three)
    with pytest.raises(AssessmentError, match="nominated twice"):
        validate_nominations([Nomination("A", "X", "x", "W"), Nomination("B", "X", "x", "W")])
    with pytest.raises(AssessmentError, match="window is required"):
        validate_nominations([Nomination("A", "X", "x", " ")])
    with pytest.raises(AssessmentError, match="no nominations"):
        validate_nominations([])


def test_director_awards():
    inputs = [DirectorInput(u, f"dir{u}", f"累计名次第{i + 1}", "优秀") for i, u in enumerate("ABCD")]
    awards = record_director_awards(inputs, ["dirA", "dirC", "dirB"], MEETING)
    assert [d.unit for d in awards.chosen] == ["A", "C", "B"] and len(awards.inputs) == 4
    with pytest.raises(AssessmentError) as exc:
        record_director_awards([*inputs, DirectorInput("E", "dirE", "", "")], ["dirA", "dirA", "dirZ"], MEETING)
    codes = sorted(e.code for e in exc.value.errors)
    assert codes == ["awards.director_input", "awards.not_nominated", "awards.person_twice"]
    with pytest.raises(AssessmentError, match="3 are chosen"):
        record_director_awards(inputs, ["dirA"], MEETING)
