"""Property: moving one input across a reported flip point changes the winner; stopping short does not."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.decision.assumptions import Assumptions
from advisor.decision.decide import _with_input, decide, resolve, winner_of
from tests import test_decide_profiles as profiles

SCENARIOS = ["ecommerce", "support", "lowvolume", "caching", "reference_case"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SCENARIOS), volume_factor=st.floats(0.05, 20.0), gain=st.floats(0.05, 0.4),
       u=st.floats(0.0, 0.98))
def test_flip_points_are_where_the_winner_changes(name: str, volume_factor: float, gain: float, u: float) -> None:
    base = getattr(profiles, name)()
    assumptions = Assumptions().with_values(volume_per_day=base.requests_per_day * volume_factor,
                                            accuracy_gain=gain)
    decision = decide(base, assumptions)
    winner = decision.recommendation.winner
    win = next(s for s in decision.strategies if s.key == winner)
    assert winner == "status-quo" or (win.eligible and win.net_value_12m.value > 0)  # never a negative value
    a = resolve(base, assumptions)
    assert winner_of(base, a) == winner
    for flip in decision.recommendation.flip_conditions:
        # across the reported point: the reported new winner
        p2, a2 = _with_input(base, a, flip.assumption, flip.threshold)
        assert winner_of(p2, a2) == flip.winner_after != winner
        # part of the way there: unchanged
        x = flip.current + u * (flip.threshold - flip.current)
        p3, a3 = _with_input(base, a, flip.assumption, x)
        assert winner_of(p3, a3) == winner, (flip.text, x)


def test_volume_flip_exists_for_the_reference_case() -> None:
    rec = decide(profiles.ecommerce()).recommendation
    assert any(f.assumption == "volume_per_day" for f in rec.flip_conditions)
