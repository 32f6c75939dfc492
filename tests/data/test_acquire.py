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
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", data, url=f"{base}/repo/file.csv", size=len(data))])
    report = acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True)
    assert report.downloaded == ["src/file.csv"]
    assert (tmp_path / "raw/src/file.csv").read_bytes() == data


def test_download_with_wrong_checksum_is_refused(tmp_path, http_root):
    www, base = http_root
    (www / "file.csv").write_bytes(b"tampered\n")
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", b"original\n", url=f"{base}/file.csv", size=9)])
    with pytest.raises(ChecksumError, match="nothing was written"):
        acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True)
    assert not (tmp_path / "raw/src/file.csv").exists()
    assert list((tmp_path / "raw/src").iterdir()) == []


def test_download_not_found_is_a_clear_error(tmp_path, http_root):
    _, base = http_root
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", b"x", url=f"{base}/gone.csv", size=1)])
    with pytest.raises(MissingInputError, match="download of .*gone.csv failed") as err:
        acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True)
    assert list((tmp_path / "raw/src").iterdir()) == []
    # the message names the destination under data/raw, never the temporary file
    assert err.value.file == str(tmp_path / "raw/src/file.csv") and ".tmp" not in str(err.value)


def test_without_mirror_nothing_is_downloaded_unless_asked(tmp_path, http_root):
    www, base = http_root
    data = b"a,b\n1,2\n"
    (www / "file.csv").write_bytes(data)
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/file.csv", data, url=f"{base}/file.csv")])
    with pytest.raises(MissingInputError, match="no mirror is set, and downloading was not asked for") as err:
        acquire.fetch(manifest, tmp_path / "raw", mirror="")
    assert "--allow-download" in err.value.hint and err.value.file == str(tmp_path / "raw/src/file.csv")
    assert not (tmp_path / "raw/src/file.csv").exists()


def test_download_is_capped_at_the_manifest_size(tmp_path, http_root):
    www, base = http_root
    data = b"x" * 5000
    (www / "big.csv").write_bytes(data)
    manifest = write_manifest(tmp_path / "M.toml",
                              [entry("src/big.csv", data, url=f"{base}/big.csv", size=100)])
    with pytest.raises(ChecksumError, match="announces 5000 bytes, the manifest's size is 100") as err:
        acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True)
    assert err.value.file == str(tmp_path / "raw/src/big.csv") and ".tmp" not in str(err.value)
    assert list((tmp_path / "raw/src").iterdir()) == []


def test_download_without_a_length_header_is_stopped_past_the_size(tmp_path, monkeypatch):
    import io
    import urllib.request

    class Endless(io.BytesIO):
        headers: dict = {}
        def __enter__(self):
            return self
        def __exit__(self, *a):
            return False
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Endless(b"y" * 10_000))
    manifest = write_manifest(tmp_path / "M.toml",
                              [entry("src/f.csv", b"y" * 10, url="https://example.org/f.csv", size=10)])
    with pytest.raises(ChecksumError, match="sent more than the manifest's 10 bytes"):
        acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True)
    assert list((tmp_path / "raw/src").iterdir()) == []


def test_download_of_an_entry_without_a_size_is_refused_before_any_byte(tmp_path, monkeypatch):
    import urllib.request

    def no_network(*a, **k):
        raise AssertionError("nothing may be fetched for an entry without a size")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    manifest = write_manifest(tmp_path / "M.toml",
                              [entry("src/f.csv", b"y", url="https://example.org/f.csv")])
    with pytest.raises(DataError, match="the entry of src/f.csv has no size") as err:
        acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True)
    assert err.value.file == str(manifest) and err.value.column == "size"
    assert "size = <bytes>" in err.value.hint
    assert not (tmp_path / "raw/src").exists() or list((tmp_path / "raw/src").iterdir()) == []


def test_an_entry_without_a_size_is_still_copied_from_the_mirror(tmp_path, mirror):
    root, files = mirror
    manifest = write_manifest(tmp_path / "M.toml", [entry(r, d) for r, d in files.items()])
    report = acquire.fetch(manifest, tmp_path / "raw", root, allow_download=True)
    assert sorted(report.copied) == sorted(files)


def test_downloads_stop_at_the_overall_time_limit(tmp_path, http_root):
    _, base = http_root
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/f.csv", b"z", url=f"{base}/f.csv", size=1)])
    with pytest.raises(MissingInputError, match="time limit for downloads is used up") as err:
        acquire.fetch(manifest, tmp_path / "raw", mirror="", allow_download=True, time_limit=0)
    assert err.value.file == str(tmp_path / "raw/src/f.csv")


def test_manifest_size_must_be_a_byte_count(tmp_path):
    manifest = write_manifest(tmp_path / "M.toml", [entry("src/f.csv", b"z", size="big")])
    with pytest.raises(DataError, match="size 'big' is not a number of bytes") as err:
        acquire.load_manifest(manifest)
    assert err.value.column == "size"


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
        assert e.size == (sums.parent / e.path).stat().st_size


def test_regrowth_panel_verifies_checksums_before_building(tmp_path, mirror, capsys, monkeypatch):
    """`regrowth panel` runs the same acquisition step as `make panel` (make data first)."""
    from regrowth import cli
    root, files = mirror
    manifest = write_manifest(tmp_path / "M.toml", [entry(rel, data) for rel, data in files.items()])
    raw = tmp_path / "raw"
    (raw / "src_a").mkdir(parents=True)
    (raw / "src_a/one.csv").write_bytes(b"a,b\n1,999\n")          # altered after acquisition
    monkeypatch.delenv("REGROWTH_DATA_MIRROR", raising=False)
    out = tmp_path / "processed"
    status = cli.main(["--raw-dir", str(raw), "panel", "--manifest", str(manifest),
                       "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and "src_a/one.csv" in err and "the manifest expects" in err
    assert not out.exists()


def test_regrowth_panel_without_mirror_does_not_download(tmp_path, capsys, monkeypatch):
    from regrowth import cli
    manifest = write_manifest(tmp_path / "M.toml",
                              [entry("src/f.csv", b"z", url="https://example.invalid/f.csv")])
    monkeypatch.delenv("REGROWTH_DATA_MIRROR", raising=False)

    def no_network(*a, **k):
        raise AssertionError("the network was reached")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    status = cli.main(["--raw-dir", str(tmp_path / "raw"), "panel", "--manifest", str(manifest),
                       "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "downloading was not asked for" in err and "--allow-download" in err


def test_temporary_files_of_an_interrupted_fetch_are_removed(tmp_path, mirror):
    root, files = mirror
    manifest = write_manifest(tmp_path / "M.toml", [entry(rel, data) for rel, data in files.items()])
    raw = tmp_path / "raw"
    (raw / "src_a").mkdir(parents=True)
    leftover = raw / "src_a" / ".one.csv.k3j4h5.tmp"          # as atomic_path names them
    leftover.write_bytes(b"a,b\n1")
    mine = raw / "src_a" / "my_notes.tmp"                       # not ours: kept
    mine.write_text("keep")
    acquire.fetch(manifest, raw, mirror=root)
    assert not leftover.exists() and mine.read_text() == "keep"
    assert (raw / "src_a/one.csv").read_bytes() == files["src_a/one.csv"]
