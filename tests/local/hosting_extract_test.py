"""Safe extraction: model archives cannot escape the destination or fill the disk."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from providers.local.hosting import HostingError
from providers.local.hosting.extract import MAX_BYTES_ENV, MAX_RATIO_ENV, safe_extract

pytestmark = pytest.mark.timeout(120)


def member(name: str, data: bytes = b"x", **fields: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE):
        info.size = 0
    return info, data


def archive(path: Path, *members: tuple[tarfile.TarInfo, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def test_a_normal_archive_is_extracted(tmp_path: Path) -> None:
    source = archive(
        tmp_path / "model.tar.gz",
        member("model.joblib", b"weights"),
        member("code", type=tarfile.DIRTYPE, mode=0o755),
        member("code/inference.py", b"def model_fn(d): pass\n"),
        member("latest", type=tarfile.SYMTYPE, linkname="model.joblib"),
    )
    safe_extract(source, tmp_path / "out")
    assert (tmp_path / "out" / "model.joblib").read_bytes() == b"weights"
    assert (tmp_path / "out" / "code" / "inference.py").exists()
    assert (tmp_path / "out" / "latest").read_bytes() == b"weights"


def test_an_uncompressed_tar_is_accepted(tmp_path: Path) -> None:
    safe_extract(archive(tmp_path / "model.tar", member("a.txt"), mode="w"), tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"x"


@pytest.mark.parametrize(
    ("members", "bad"),
    [
        ([member("../escape.txt")], "../escape.txt"),
        ([member("code/../../escape.txt")], "code/../../escape.txt"),
        ([member("/etc/escape.txt")], "/etc/escape.txt"),
        ([member("link", type=tarfile.SYMTYPE, linkname="../../outside")], "link"),
        ([member("link", type=tarfile.SYMTYPE, linkname="/etc/passwd")], "link"),
        ([member("hard", type=tarfile.LNKTYPE, linkname="../outside.txt")], "hard"),
        ([member("hard", type=tarfile.LNKTYPE, linkname="/etc/passwd")], "hard"),
        ([member("dir", type=tarfile.SYMTYPE, linkname=".."), member("dir/escape.txt")], "dir"),
        ([member("dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)], "dev"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-dotdot", "symlink-absolute",
         "hardlink-dotdot", "hardlink-absolute", "through-symlink", "device"],
)
def test_members_that_escape_are_refused_by_name(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]], bad: str
) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    source = archive(tmp_path / "evil.tar.gz", *members)
    with pytest.raises(HostingError, match="unsafe member|symlink") as caught:
        safe_extract(source, tmp_path / "deep" / "out")
    assert repr(bad) in str(caught.value) or bad in str(caught.value)
    assert (tmp_path / "outside.txt").read_text() == "secret"
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()


def test_a_file_written_through_an_inner_symlink_is_refused(tmp_path: Path) -> None:
    source = archive(
        tmp_path / "evil.tar.gz",
        member("real", type=tarfile.DIRTYPE, mode=0o755),
        member("alias", type=tarfile.SYMTYPE, linkname="real"),
        member("alias/file.txt"),
    )
    with pytest.raises(HostingError, match="'alias/file.txt' would be written through the symlink 'alias'"):
        safe_extract(source, tmp_path / "out")


def test_a_decompression_bomb_is_refused_by_the_env_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 200 * 1024 * 1024
        tar.addfile(info, _Zeros(info.size))
    assert bomb.stat().st_size < 1024 * 1024
    monkeypatch.setenv(MAX_BYTES_ENV, str(50 * 1024 * 1024))
    with pytest.raises(HostingError, match=rf"expands to more than 52428800 bytes \(at 'zeros.bin'\); raise {MAX_BYTES_ENV}"):
        safe_extract(bomb, tmp_path / "out")
    assert not (tmp_path / "out" / "zeros.bin").exists()


def test_the_cap_counts_decompressed_bytes_not_declared_sizes(tmp_path: Path) -> None:
    """A 4 MB pax header declares no size at all; the stream still counts it."""
    source = tmp_path / "padded.tar.gz"
    with tarfile.open(source, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("small.txt")
        info.size = 1
        info.pax_headers = {"comment": "z" * (4 * 1024 * 1024)}
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(HostingError, match="expands to more than 1048576 bytes"):
        safe_extract(source, tmp_path / "out", max_bytes=1024 * 1024)
    safe_extract(source, tmp_path / "ok", max_bytes=8 * 1024 * 1024)


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    source = archive(tmp_path / "many.tar.gz", *(member(f"f{i}") for i in range(20)))
    with pytest.raises(HostingError, match="more than 10 members \\(at 'f10'\\)"):
        safe_extract(source, tmp_path / "out", max_members=10)


@pytest.mark.parametrize("content", [b"not an archive at all", b"\x1f\x8b\x08\x00garbage"], ids=["plain", "gzip"])
def test_garbage_is_not_a_valid_archive(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "model.tar.gz").write_bytes(content)
    with pytest.raises(HostingError, match="is not a valid tar archive"):
        safe_extract(tmp_path / "model.tar.gz", tmp_path / "out")


def test_a_malformed_cap_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, "10GB")
    source = archive(tmp_path / "model.tar.gz", member("a"))
    with pytest.raises(HostingError, match=f"{MAX_BYTES_ENV} must be a number of bytes, got '10GB'"):
        safe_extract(source, tmp_path / "out")


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced on demand so the test never holds them in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def test_a_compression_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    """Under the 10 GiB cap, but expanding to hundreds of times its size: refused."""
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:
        info = tarfile.TarInfo("weights.bin")
        info.size = 96 * 1024 * 1024
        tar.addfile(info, _Zeros(info.size))
    with pytest.raises(HostingError, match=rf"expands to more than 100 times its size of 0.1 MiB \(at 'weights.bin'\); raise {MAX_RATIO_ENV}"):
        safe_extract(bomb, tmp_path / "out")
    assert not (tmp_path / "out" / "weights.bin").exists()


def test_the_ratio_can_be_raised_and_small_archives_are_exempt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "sparse.tar.gz"
    with tarfile.open(source, "w:gz") as tar:
        info = tarfile.TarInfo("sparse.bin")
        info.size = 8 * 1024 * 1024  # ~1000 times its compressed size, but under 64 MiB
        tar.addfile(info, _Zeros(info.size))
    safe_extract(source, tmp_path / "small")
    monkeypatch.setenv(MAX_RATIO_ENV, "nope")
    with pytest.raises(HostingError, match=f"{MAX_RATIO_ENV} must be a whole number, got 'nope'"):
        safe_extract(source, tmp_path / "bad")
