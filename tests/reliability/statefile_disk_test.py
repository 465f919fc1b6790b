"""The statefile on disk: a full disk in the middle of an apply, and a statefile that is a symlink.

A full disk (the state directory on a 12 KB tmpfs) stops the apply with one `Error:` line that
says which operation completed but could not be recorded, and that the statefile on disk is the
last consistent state; once there is room, the next apply adopts the unrecorded objects (their
ownership tags) and converges. A symlinked statefile is written through to its target, which
stays the one state, instead of being replaced by a regular file.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smstate.state import State
from tests.e2e.helpers import assert_clean_failure

from .harness import Target, Workdir, check_converged


@pytest.fixture
def tiny_state_dir(tmp_path: Path) -> Iterator[Path]:
    """`state/` on a 12 KB tmpfs: the lock, the statefile and its backup fill it after one operation."""
    directory = tmp_path / "work" / "state"
    directory.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", str(directory)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


@pytest.mark.timeout(180)
def test_a_full_disk_during_apply_says_what_happened_and_the_next_apply_adopts(
    moto_target: Target, tmp_path: Path, tiny_state_dir: Path
) -> None:
    work = Workdir.create(tmp_path / "work", moto_target, moto_target.api_url)
    full = work.run("apply", "--auto-approve", "--parallelism", "1")
    error = assert_clean_failure(full, "the state could not be saved", "No space left on device", "last consistent state",
                                 "adopts them")  # fmt: skip
    assert "Apply complete!" not in full.out
    assert f"cannot write the state to {work.state_file}" in error
    assert not work.state_file.with_name("default.json.lock").exists(), "the lock was left behind"
    on_disk = State.loads(work.state_file.read_text(), str(work.state_file))
    assert f"(serial {on_disk.serial})" in error
    unrecorded = error.split("): ", 1)[1].split(", but the state does not record it")[0]
    assert " created" in unrecorded, error
    for done in unrecorded.split("; "):
        assert done.split(" ")[0] not in on_disk.resources, f"{done} is in the state, yet reported unrecorded"
    assert not [p.name for p in tiny_state_dir.iterdir() if p.name.endswith(".tmp")], "a temp file was left behind"

    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_state_dir)], check=True)
    again = work.run("apply", "--auto-approve")
    assert again.code == 0, str(again)
    check_converged(work, on_disk.serial)


@pytest.mark.timeout(180)
def test_a_symlinked_statefile_is_written_through_to_its_target(moto_target: Target, tmp_path: Path) -> None:
    work = Workdir.create(tmp_path / "work", moto_target, moto_target.api_url)
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "prod.json"
    work.state_file.parent.mkdir(parents=True)
    os.symlink(os.path.relpath(target, work.state_file.parent), work.state_file)  # dangling until the first write

    first = work.run("apply", "--auto-approve")
    assert first.code == 0, str(first)
    assert work.state_file.is_symlink() and target.is_file()
    serial = State.loads(target.read_text(), str(target)).serial

    work.use("B")
    second = work.run(*work.target.command("apply"))
    assert second.code == 0, str(second)
    assert work.state_file.is_symlink(), "the link was replaced by a regular file: the state is split in two"
    assert os.path.realpath(work.state_file) == str(target)
    after = State.loads(target.read_text(), str(target))
    assert after.serial > serial
    backup = shared / "prod.json.backup"
    assert State.loads(backup.read_text(), str(backup)).serial < after.serial
    assert sorted(p.name for p in work.state_file.parent.iterdir()) == ["default.json"]
    assert not (shared / "prod.json.lock").exists()
    check_converged(work, after.serial)


@pytest.mark.timeout(60)
def test_a_lock_that_cannot_be_written_is_not_left_half_written(moto_target: Target, tmp_path: Path, tiny_state_dir: Path) -> None:
    work = Workdir.create(tmp_path / "work", moto_target, moto_target.api_url)
    fd = os.open(tiny_state_dir / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError):
            while True:
                os.write(fd, b"\0" * 4096)  # fill the tmpfs
    finally:
        os.close(fd)
    result = work.run("plan")
    assert_clean_failure(result, f"cannot write the lock file {work.state_file}.lock", "No space left on device")
    assert sorted(p.name for p in tiny_state_dir.iterdir()) == ["filler"]
