"""Supervisors' credentials for the dashboard: a JSON file the operator keeps (`sgs supervisors …`).

Separate from the departments' keys on purpose: a department key never opens the dashboard, a supervisor key
never publishes. Keys are issued as for departments (`sgs_<id>_<secret>`, shown once, stored as SHA-256) and
presented as the password of HTTP Basic authentication, with the supervisor's name as user name. The file is
read again whenever it changes, so a revocation takes effect at the next request.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from sgs.connectors.departments import ApiKey, issue_key, matches, split_key


@dataclasses.dataclass(frozen=True, slots=True)
class Supervisor:
    name: str
    keys: tuple[ApiKey, ...]


class SupervisorKeys:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[float, int] | None = None
        self._supervisors: dict[str, Supervisor] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Supervisor]:
        self._refresh()
        return sorted(self._supervisors.values(), key=lambda s: s.name)

    def authenticate(self, name: str, presented: str) -> Supervisor | None:
        self._refresh()
        supervisor, split = self._supervisors.get(name), split_key(presented)
        if supervisor is None or split is None:
            return None
        key_id, secret = split
        return supervisor if any(k.key_id == key_id and matches(k, secret) for k in supervisor.keys) else None

    def add(self, name: str, now: datetime) -> str:
        """Issue a key for `name` (a new supervisor, or another key for one); returns the key's text, once."""
        self._refresh()
        text, key = issue_key(now)
        current = self._supervisors.get(name, Supervisor(name, ()))
        self._supervisors[name] = dataclasses.replace(current, keys=(*current.keys, key))
        self._save()
        return text

    def revoke(self, key_id: str, now: datetime) -> str | None:
        """Revoke a key by id; returns its supervisor's name, or None when no active key has that id."""
        self._refresh()
        for supervisor in self._supervisors.values():
            if any(k.key_id == key_id and k.active for k in supervisor.keys):
                keys = tuple(
                    dataclasses.replace(k, revoked_at=now) if k.key_id == key_id else k for k in supervisor.keys
                )
                self._supervisors[supervisor.name] = dataclasses.replace(supervisor, keys=keys)
                self._save()
                return supervisor.name
        return None

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._supervisors, self._seen = {}, None
            return
        seen = (stat.st_mtime, stat.st_size)
        if seen == self._seen:
            return
        with self._lock:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._supervisors = {
                entry["name"]: Supervisor(entry["name"], tuple(_key(k) for k in entry["keys"]))
                for entry in data.get("supervisors", [])
            }
            self._seen = seen

    def _save(self) -> None:
        data = {
            "supervisors": [
                {"name": s.name, "keys": [_key_json(k) for k in s.keys]} for s in self._supervisors.values()
            ]
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        temporary.chmod(0o600)  # key hashes: for the operator's eyes only
        temporary.replace(self.path)
        self._seen = None


def _key(data: dict[str, Any]) -> ApiKey:
    revoked = data.get("revoked_at")
    return ApiKey(
        data["key_id"],
        data["secret_sha256"],
        datetime.fromisoformat(data["created_at"]),
        datetime.fromisoformat(revoked) if revoked else None,
    )


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "secret_sha256": key.secret_sha256,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }
