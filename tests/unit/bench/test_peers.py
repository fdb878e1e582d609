"""Finding the frozen layouts in dist/ and refusing what cannot run here."""

import json
import shutil
import sys
import zipfile
from pathlib import Path

from bench.peers import (
    Peer,
    floor_peers,
    frozen_peers,
    frozen_roots,
    real_python,
    telemetry_off_peer,
)


def executable() -> Path:
    """A real ELF executable for this machine: the compiled C floor client."""
    return Path(floor_peers(sys.executable)[0].argv[0])


def test_each_distinct_layout_is_a_peer_and_duplicates_are_noted(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    for layout in ("folder", "single"):
        (dist / "layouts" / layout).mkdir(parents=True)
        shutil.copy2(executable(), dist / "layouts" / layout / "bootstrap")
    with (dist / "layouts" / "folder" / "bootstrap").open("ab") as changed:
        changed.write(b"\0")
    shutil.copy2(executable(), dist / "bootstrap")

    peers, skipped = frozen_peers(dist)

    assert [peer.name for peer in peers] == ["frozen:folder", "frozen:single"]
    assert all(peer.kind == "frozen" for peer in peers)
    assert peers[1].note.endswith("= frozen:default")
    assert [(s.name, s.reason) for s in skipped] == [
        ("frozen:default", "same executable as frozen:single")
    ]


def test_the_zip_is_unpacked_with_its_executable_bit_and_deduplicated(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    binary = dist / "bootstrap"
    shutil.copy2(executable(), binary)
    with zipfile.ZipFile(dist / "function.zip", "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, binary.read_bytes())

    peers, skipped = frozen_peers(dist)

    assert [peer.name for peer in peers] == ["frozen:default"]
    assert [s.name for s in skipped] == ["frozen:function.zip"]
    assert "same executable as frozen:default" in skipped[0].reason


def test_a_script_or_a_foreign_build_is_skipped_with_a_reason(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "arm64").mkdir(parents=True)
    script = dist / "bootstrap"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    foreign = bytearray(executable().read_bytes()[:64])
    foreign[18:20] = (0xBEEF).to_bytes(2, "little")
    (dist / "arm64" / "bootstrap").write_bytes(bytes(foreign))
    (dist / "arm64" / "bootstrap").chmod(0o755)

    peers, skipped = frozen_peers(dist)

    assert peers == []
    assert sorted(s.name for s in skipped) == ["frozen:arm64", "frozen:default"]
    assert all("not an executable for this CPU" in s.reason for s in skipped)


def test_no_dist_means_one_clear_note(tmp_path: Path) -> None:
    peers, skipped = frozen_peers(tmp_path / "missing")

    assert peers == []
    assert len(skipped) == 1
    assert "make build" in skipped[0].reason


def test_the_python_peers_use_a_real_interpreter_binary() -> None:
    with Path(real_python()).resolve().open("rb") as binary:
        assert binary.read(4) == b"\x7fELF"


def test_frozen_peers_trust_the_bundle_the_build_report_names(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy2(executable(), dist / "bootstrap")
    trimmed = tmp_path / "trimmed.pem"
    trimmed.write_text("roots\n")
    (dist / "build.json").write_text(json.dumps({"ca_bundle": str(trimmed)}))

    peers, _ = frozen_peers(dist)

    assert peers[0].roots == trimmed


def test_without_a_named_bundle_the_frozen_build_trusts_botocores_own() -> None:
    roots = frozen_roots(Path("/nonexistent"))

    assert roots is not None
    assert roots.parts[-2:] == ("botocore", "cacert.pem")


def test_telemetry_off_peer_runs_the_same_executable_with_telemetry_off() -> None:
    peer = Peer(name="frozen:single", kind="frozen", argv=("/x/bootstrap",))

    off = telemetry_off_peer(peer)

    assert off.name == "frozen:single:telemetry-off"
    assert off.argv == peer.argv
    assert dict(off.env) == {
        "BOOTSTRAP_TELEMETRY": "off",
        "AWS_LAMBDA_LOG_FORMAT": "Text",
    }
    assert peer.env == ()
