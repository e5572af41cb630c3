from __future__ import annotations

import itertools
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from sgs.core.merge import MergeState, Outcome, content_hash, merge


def state(version: int, operation: str = "upsert", content: str = "a", event: str = "e") -> MergeState:
    return MergeState(version, operation, content_hash({"c": content}), event)  # type: ignore[arg-type]


def test_first_submission_applies() -> None:
    assert merge(None, state(1)) == (Outcome.APPLIED, state(1))


def test_higher_version_applies_and_lower_is_stale() -> None:
    assert merge(state(1), state(2))[0] is Outcome.APPLIED
    assert merge(state(2), state(1)) == (Outcome.STALE, state(2))


def test_identical_resubmission_is_a_duplicate_even_with_a_new_event_id() -> None:
    assert merge(state(3, event="first"), state(3, event="again")) == (Outcome.DUPLICATE, state(3, event="first"))


def test_revoke_wins_over_an_upsert_of_the_same_version_and_can_arrive_first() -> None:
    assert merge(state(5), state(5, "revoke"))[0] is Outcome.APPLIED
    outcome, kept = merge(state(5, "revoke"), state(4))
    assert outcome is Outcome.STALE and kept is not None and kept.revoked


def test_a_correction_after_a_revoke_reinstates_the_decision() -> None:
    outcome, kept = merge(state(5, "revoke"), state(6, content="corrected"))
    assert outcome is Outcome.APPLIED and kept is not None and not kept.revoked


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": "信阳"}) == content_hash({"b": "信阳", "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


submissions = st.lists(
    st.builds(
        state,
        st.integers(0, 5),
        st.sampled_from(["upsert", "revoke"]),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["e1", "e2"]),
    ),
    min_size=1,
    max_size=6,
)


def fold(items: list[MergeState]) -> MergeState | None:
    return reduce(lambda current, s: merge(current, s)[1], items, None)


@given(submissions)
def test_every_arrival_order_converges_to_the_highest_ranked_submission(items: list[MergeState]) -> None:
    results = {fold(list(order)).rank for order in itertools.islice(itertools.permutations(items), 50)}  # type: ignore[union-attr]
    assert results == {max(s.rank for s in items)}


@given(submissions)
def test_replaying_everything_again_changes_nothing(items: list[MergeState]) -> None:
    once = fold(items)
    twice = reduce(lambda current, s: merge(current, s)[1], items, once)
    assert twice == once
    assert all(merge(once, s)[0] is not Outcome.APPLIED for s in items)
