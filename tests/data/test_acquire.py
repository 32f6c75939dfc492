"""Acquisition of raw files: mirror copy, download, and every refusal the manifest promises."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from regrowth import acquire
from regrowth.errors import ChecksumError, DataError, MissingInputError

PROJECT = Path(__file__).resolve().parents[2]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(path: Path, entries: list[dict]) -> Path:
    lines = []
    for e in entries:
        lines.append("[[file]]")
        for k, v in e.items():
            lines.append(f"{k} = {'true' if v is True else 'false' if v is False else repr(v).replace(chr(39), chr(34))}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def entry(rel: str, data: bytes, url: str = "http://127.0.0.1:9/none", **kw) -> dict:
    return {"path": rel, "sha256": sha(data), "origin": "someone/repo@abc:" + rel, "url": url,
            "producer": "test", "licence": "test", **kw}


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    files = {"src_a/one.csv": b"a,b\n1,2\n", "src_b/two.csv": "지역,값\n서울,1\n".encode()}
    root = tmp_path / "mirror"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root, files


@pytest.fixture
def http_root(tmp_path: Path):
    """A static HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_mirror_copy_verifies_and_makes_files_read_only(tmp_path, mirror):
    root, files = mirror
    manifest = write_manifest(tmp_path / "M.toml", [entry(r, d) for r, d in files.items()])
    report = acquire.fetch(manifest, tmp_path / "raw", root)
    assert sorted(report.copied) == sorted(files)
    for rel, data in files.items():
        dest = tmp_path / "raw" / rel
        assert dest.read_bytes() == data
        assert not os.stat(dest).st_mode & 0o222
    assert acquire.verify(manifest, tmp_path / "raw") == list(files)


def test_existing_good_file_is_never_rewritten(tmp_path, mirror):
    root, files = mirror
    manifest = write_manifest(tmp_path / "M.toml", [entry(r, d) for r, d in files.items()])
    acquire.fetch(manifest, tmp_path / "raw", root)
    dest = tmp_path / "raw" / "src_a/one.csv"
    before = os.stat(dest)
    report = acquire.fetch(manifest, tmp_path / "raw", root)
    after = os.stat(dest)
    assert report.kept == list(files) and not report.copied
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_mirror_file_with_wrong_checksum_is_refused_and_nothing_written(tmp_path, mirror):
    root, files = mirror
    bad = entry("src_a/one.csv", b"something else")
    manifest = write_manifest(tmp_path / "M.toml", [bad])
    with pytest.raises(ChecksumError, match="nothing was written") as err:
        acquire.fetch(manifest, tmp_path / "raw", root)
    assert err.value.file.endswith("src_a/one.csv")
    assert not (tmp_path / "raw" / "src_a").exists() or not any((tmp_path / "raw" / "src_a").iterdir())


def test_existing_file_with_wrong_checksum_is_refused_and_left_untouched(tmp_path, mirror):
    root, files = mirror
    manifest = write_manifest(tmp_path / "M.toml", [entry(r, d) for r, d in files.items()])
    dest = tmp_path / "raw" / "src_a/one.csv"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"a user's own edit\n")
    with pytest.raises(ChecksumError, match="left untouched") as err:
        acquire.fetch(manifest, tmp_path / "raw", root)
    assert "delete it and run `make data`" in str(err.value)
    assert dest.read_bytes() == b"a user's own edit\n"


@pytest.mark.parametrize("bad_path", ["../outside.csv", "src/../../outside.csv", "/etc/passwd",
                                      "C:/x.csv", "src\\..\\x.csv"])
def test_path_escaping_data_raw_is_refused_before_any_write(tmp_path, mirror, bad_path):
    root, files = mirror
    entries = [entry(r, d) for r, d in files.items()] + [entry(bad_path, b"x")]
    manifest = write_manifest(tmp_path / "M.toml", entries)
    with pytest.raises(DataError, match="escapes data/raw/") as err:
        acquire.fetch(manifest, tmp_path / "raw", root)
    assert err.value.column == "path" and "entry 3" in str(err.value)
    assert not (tmp_path / "raw").exists()


def test_symlink_leading_out_of_data_raw_is_refused(tmp_path, mirror):
    root, files = mirror
    raw = tmp_path / "raw"
    raw.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (raw / "src_a").symlink_to(tmp_path / "elsewhere")
    manifest = write_manifest(tmp_path / "M.toml", [entry("src_a/one.csv", files["src_a/one.csv"])])
    with pytest.raises(DataError, match="resolves outside data/raw/"):
        acquire.fetch(manifest, raw, root)
    assert not any((tmp_path / "elsewhere").iterdir())


def test_file_missing_from_mirror_and_not_downloadable_names_file_and_remedy(tmp_path, mirror):
    root, _ = mirror
    manifest = write_manifest(tmp_path / "M.toml",
                              [entry("src_c/excerpt.csv", b"x", downloadable=False, note="an excerpt")])
    with pytest.raises(MissingInputError, match="not in the mirror") as err:
        acquire.fetch(manifest, tmp_path / "raw", root)
    assert "REGROWTH_DATA_MIRROR" in str(err.value) and "an excerpt" in str(err.value)


def test_missing_mirror_folder_is_reported(tmp_path):
    manifest = write_manifest(tmp_path / "M.toml", [entry("a.csv", b"x")])
    with pytest.raises(MissingInputError, match="is not a folder"):
        acquire.fetch(manifest, tmp_path / "raw", tmp_path / "no-such-mirror")


def test_download_from_local_http_server(tmp_path, http_root):
    www, base = http_root
    data = "연도,값\n2020,1\n".encode()
    (www / "repo").mkdir()
    (www / "repo/file.csv").write_bytes(data)
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", data, url=f"{base}/repo/file.csv")])
    report = acquire.fetch(manifest, tmp_path / "raw", mirror="")
    assert report.downloaded == ["src/file.csv"]
    assert (tmp_path / "raw/src/file.csv").read_bytes() == data


def test_download_with_wrong_checksum_is_refused(tmp_path, http_root):
    www, base = http_root
    (www / "file.csv").write_bytes(b"tampered\n")
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", b"original\n", url=f"{base}/file.csv")])
    with pytest.raises(ChecksumError, match="nothing was written"):
        acquire.fetch(manifest, tmp_path / "raw", mirror="")
    assert not (tmp_path / "raw/src/file.csv").exists()
    assert list((tmp_path / "raw/src").iterdir()) == []


def test_download_not_found_is_a_clear_error(tmp_path, http_root):
    _, base = http_root
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", b"x", url=f"{base}/gone.csv")])
    with pytest.raises(MissingInputError, match="download of .*gone.csv failed"):
        acquire.fetch(manifest, tmp_path / "raw", mirror="")
    assert list((tmp_path / "raw/src").iterdir()) == []


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e.pop("sha256"), "lacks the field 'sha256'"),
    (lambda e: e.update(sha256="abc"), "is not 64 hex digits"),
    (lambda e: e.pop("origin"), "lacks the field 'origin'"),
])
def test_malformed_manifest_entry_names_entry_and_field(tmp_path, mutate, message):
    e = entry("a.csv", b"x")
    mutate(e)
    manifest = write_manifest(tmp_path / "M.toml", [e])
    with pytest.raises(DataError, match=message) as err:
        acquire.load_manifest(manifest)
    assert err.value.file == str(manifest) and "entry 1" in str(err.value)


def test_manifest_with_duplicated_path_is_refused(tmp_path):
    manifest = write_manifest(tmp_path / "M.toml", [entry("a.csv", b"x"), entry("a.csv", b"x")])
    with pytest.raises(DataError, match="repeats the path 'a.csv' of entry 1"):
        acquire.load_manifest(manifest)


def test_manifest_that_is_not_toml_is_refused(tmp_path):
    manifest = tmp_path / "M.toml"
    manifest.write_text("[[file]\npath = ", encoding="utf-8")
    with pytest.raises(DataError, match="not valid TOML"):
        acquire.load_manifest(manifest)


def test_project_manifest_covers_every_shared_file_with_matching_checksums(data_mirror):
    """The committed manifest agrees with the mirror's own SHA256SUMS, file for file."""
    sums = data_mirror / "SHA256SUMS"
    expected = dict(reversed(line.split(maxsplit=1)) for line in sums.read_text().splitlines())
    entries = acquire.load_manifest(PROJECT / "data/raw/MANIFEST.toml")
    assert {e.path: e.sha256 for e in entries} == expected
    for e in entries:
        assert e.url.startswith("https://") and "@" in e.origin and len(e.origin.split("@")[1].split(":")[0]) == 40
