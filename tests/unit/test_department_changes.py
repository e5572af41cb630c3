"""Changes of the departments directory are pure and idempotent: a change applied again after a commit whose
outcome Kafka did not tell (read again, apply again) changes nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

from sgs.connectors.departments import issue_key, new_department, with_key, with_key_revoked

from .factories import AUTHORITY

NOW = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


def test_a_key_added_again_is_not_held_twice() -> None:
    _, department = new_department(AUTHORITY, "信阳市市场监督管理局", None, NOW)
    _, key = issue_key(NOW)
    once = with_key(department, key, NOW)
    assert with_key(once, key, NOW) == once
    assert [k.key_id for k in once.keys].count(key.key_id) == 1


def test_a_key_revoked_again_keeps_its_first_revocation_time() -> None:
    _, department = new_department(AUTHORITY, "信阳市市场监督管理局", None, NOW)
    key_id = department.keys[0].key_id
    revoked = with_key_revoked(department, key_id, NOW)
    later = datetime(2026, 12, 5, tzinfo=UTC)
    assert with_key_revoked(revoked, key_id, later) == revoked
