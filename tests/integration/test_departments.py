"""`sgs departments` against the real broker: the operator's commands, and two operators changing one department
at the same moment (neither may overwrite the other's key)."""

from __future__ import annotations

import dataclasses
import threading
import uuid

from click.testing import CliRunner

from sgs.cli.departments import departments
from sgs.config import Settings
from sgs.connectors.departments import (
    ApiKey,
    Department,
    DepartmentDirectory,
    issue_key,
    new_department,
    utc_now,
    with_key,
)
from sgs.deploy.local.stack import LocalStack
from sgs.streams.topics import ensure_topics

CODE = "11411500MB1234562E"


def own_prefix(settings: Settings) -> Settings:
    """A departments topic of the test's own: other tests register departments of their own in the session's."""
    return dataclasses.replace(settings, topic_prefix=f"{settings.topic_prefix}dept{uuid.uuid4().hex[:6]}.")


def test_the_operators_commands(settings: Settings, stack: LocalStack) -> None:
    env = own_prefix(settings).to_env()
    run = CliRunner().invoke

    added = run(departments, ["add", CODE, "--name", "信阳市生态环境局"], env=env)
    assert added.exit_code == 0, added.output
    first_key = next(line for line in added.output.splitlines() if line.startswith("sgs_"))

    again = run(departments, ["add", CODE, "--name", "另一个名称"], env=env)
    assert again.exit_code == 2 and "已登记" in again.output

    unknown = run(departments, ["add-key", "91411500MA44XQ5T8W"], env=env)
    assert unknown.exit_code == 2 and "未登记" in unknown.output

    rotated = run(departments, ["add-key", CODE], env=env)
    assert rotated.exit_code == 0, rotated.output
    first_id = first_key.split("_")[1]
    revoked = run(departments, ["revoke-key", first_id], env=env)
    assert revoked.exit_code == 0 and first_id in revoked.output
    hooked = run(departments, ["set-webhook", CODE, "https://hb.example.cn/sgs"], env=env)
    assert hooked.exit_code == 0, hooked.output

    department = DepartmentDirectory(Settings.from_env(env)).load().get(CODE)
    assert department is not None and department.name == "信阳市生态环境局"
    assert [key.active for key in department.keys] == [False, True]
    assert department.webhook_url == "https://hb.example.cn/sgs"
    listed = run(departments, ["list"], env=env)
    assert listed.exit_code == 0 and first_id in listed.output and first_key not in listed.output


def test_operators_at_the_same_moment_keep_each_others_keys(settings: Settings, stack: LocalStack) -> None:
    ours = own_prefix(settings)
    ensure_topics(ours)
    DepartmentDirectory(ours).save(new_department(CODE, "信阳市市场监督管理局", None, utc_now())[1])
    issued: list[str] = []
    failures: list[BaseException] = []

    def one_more_key(latest: Department | None) -> Department:
        assert latest is not None
        return with_key(latest, key_of[threading.get_ident()], utc_now())

    key_of: dict[int, ApiKey] = {}

    def operator() -> None:
        try:
            for _ in range(3):
                key_of[threading.get_ident()] = key = issue_key(utc_now())[1]
                DepartmentDirectory(ours).update(CODE, one_more_key)
                issued.append(key.key_id)
        except BaseException as exc:
            failures.append(exc)

    operators = [threading.Thread(target=operator) for _ in range(3)]
    for thread in operators:
        thread.start()
    for thread in operators:
        thread.join(120)
    assert not failures, failures
    department = DepartmentDirectory(ours).load().get(CODE)
    assert department is not None
    assert len(issued) == 9 and set(issued) <= {key.key_id for key in department.keys}
