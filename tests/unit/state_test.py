"""The statefile: atomic, durable, 0600, backed up, locked; bad files are errors, never overwritten."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from smstate.backends.local import LocalBackend
from smstate.errors import LockError, StateError
from smstate.hashing import StateKey
from smstate.state import ObjectState, State, redact
from smstate.values import Secret


def test_roundtrip_and_mode_and_backup(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "state" / "default.json")
    state = State()
    state.resources["models.m"] = ObjectState("model", "m-12345678", "arn:m", "ab", {"a": 1}, {"t": "v"}, {"a": 1}, [])
    backend.write(state)
    state.serial = 1
    backend.write(state)
    assert stat.S_IMODE(os.stat(backend.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(backend.backup_path).st_mode) == 0o600
    assert json.loads(backend.backup_path.read_text())["serial"] == 0
    loaded = backend.read()
    assert loaded is not None and loaded.serial == 1 and loaded.lineage == state.lineage
    assert loaded.resources["models.m"].physical_name == "m-12345678"
    assert not list(backend.path.parent.glob(".*.tmp"))


def test_each_write_keeps_the_file_it_replaces(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "default.json")
    state = State()
    backend.write(state)
    assert not backend.backup_path.exists()
    for serial in range(1, 4):
        state.serial = serial
        backend.write(state)
        assert json.loads(backend.path.read_text())["serial"] == serial
        assert json.loads(backend.backup_path.read_text())["serial"] == serial - 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.json", "default.json.backup"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"format_version": 1, "serial": 3', "not valid JSON"),
        ("[]", "not a statefile"),
        ('{"format_version": 99, "serial": 1, "lineage": "x", "resources": {}}', "newer than this smstate"),
        ('{"format_version": 1, "serial": "x", "lineage": "x", "resources": {}}', "malformed"),
        ('{"format_version": 1, "serial": 1, "lineage": "x", "resources": {"models.m": {"type": 3}}}', "malformed"),
    ],
)
def test_broken_statefiles_are_errors_that_leave_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "default.json"
    path.write_text(text)
    with pytest.raises(StateError, match=message):
        LocalBackend(path).read()
    assert path.read_text() == text


def test_lock_is_exclusive_and_says_who_holds_it(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "default.json")
    info = backend.lock("apply", 0)
    assert stat.S_IMODE(os.stat(backend.lock_path).st_mode) == 0o600
    with pytest.raises(LockError) as refused:
        backend.lock("plan", 0.2)
    assert info.id in str(refused.value) and "apply" in str(refused.value) and str(os.getpid()) in str(refused.value)
    with pytest.raises(LockError, match="does not match"):
        backend.force_unlock("wrong-id")
    backend.force_unlock(info.id)
    backend.unlock(backend.lock("plan", 0))
    assert not backend.lock_path.exists()


def test_unreadable_lock_file_is_refused_until_forced(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "default.json")
    backend.lock_path.write_text("garbage")
    with pytest.raises(LockError, match="unreadable"):
        backend.lock("plan", 0)
    backend.force_unlock("unreadable")
    assert not backend.lock_path.exists()


def test_secrets_are_salted_hashes() -> None:
    redacted = redact({"env": {"TOKEN": Secret("hunter2")}, "plain": "x"}, "lineage-1")
    assert "hunter2" not in json.dumps(redacted)
    assert redacted["plain"] == "x"
    assert redacted == redact({"env": {"TOKEN": Secret("hunter2")}, "plain": "x"}, "lineage-1")
    assert redacted != redact({"env": {"TOKEN": Secret("hunter2")}, "plain": "x"}, "lineage-2")


def test_written_statefile_matches_its_schema(tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "state" / "statefile.schema.json").read_text())
    state = State(key=StateKey.generate())
    deposed = ObjectState("model", "m-00000000", "arn:old", "aa", {}, {}, {}, [])
    state.resources["models.m"] = ObjectState(
        "model", "m-12345678", "arn:m", "ab", {"a": 1}, {"t": "v"}, {"a": 1}, [], deposed=[deposed]
    )
    state.resources["model_packages.p"] = ObjectState("model_package", None, "arn:p/1", "cd", version=1)
    backend = LocalBackend(tmp_path / "default.json")
    backend.write(state)
    written = json.loads(backend.path.read_text())
    jsonschema.validate(written, schema)
    assert state.key is not None and written["key_id"] == state.key.id


def test_a_snapshot_does_not_see_later_changes() -> None:
    """Apply writes a snapshot while other operations go on changing the state."""
    old = ObjectState(type="model", physical_name="m-1")
    state = State(resources={"models.m": ObjectState(type="model", physical_name="m-2", deposed=[old])})
    written = state.snapshot()
    before = written.dumps()
    state.resources["models.n"] = ObjectState(type="model", physical_name="n-1")
    state.resources["models.m"].deposed = []
    state.outputs["x"] = 1
    state.serial += 1
    assert written.dumps() == before
    assert written.resources["models.m"].deposed == [old] and "models.n" not in written.resources


def test_a_commit_writes_the_next_serial_whichever_copy_it_is_given(tmp_path: Path) -> None:
    """The backend's commit alone bumps the serial: one past both the copy's own and the highest
    it read or wrote, so a stale copy (a snapshot taken before another save) never goes back."""
    from smstate.statekey import keyed

    backend = keyed(LocalBackend(tmp_path / "default.json"))
    state = backend.new_state()
    stale = state.snapshot()
    backend.commit(state)
    backend.commit(state)
    assert json.loads((tmp_path / "default.json").read_text())["serial"] == 2
    backend.commit(stale)
    assert stale.serial == 3 and json.loads((tmp_path / "default.json").read_text())["serial"] == 3
    again = keyed(LocalBackend(tmp_path / "default.json"))
    read = again.read()
    assert read is not None and read.serial == 3
    older = again.new_state(read.lineage)
    again.commit(older)
    assert json.loads((tmp_path / "default.json").read_text())["serial"] == 4
