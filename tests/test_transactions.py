"""Outputs are transactional: a kill -9 at any moment leaves the old or the new complete set.

Also: only files the package wrote are deleted, runs are serialised by a lock, a read-only
folder is reported before fitting, leftovers are cleaned, a failed table keeps its last good
outputs, and CSV cells are safe to open in a spreadsheet. Synthetic data only.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from regrowth import files, replicate
from regrowth.files import OutputError, Transaction

SRC = Path(__file__).resolve().parents[1] / "src"
FILES = [f"tables/t{i}.md" for i in range(4)] + ["figures/f.png", "estimates.json"]


def publish(root: Path, generation: str, files=FILES, prune: bool = True) -> Transaction:
    with Transaction(root, prune=prune) as tx:
        for rel in files:
            tx.write_text(rel, f"{generation} {rel}\n")
    return tx


def generations(root: Path, files=FILES) -> set[str]:
    return {(root / rel).read_text().split()[0] for rel in files if (root / rel).exists()}


# ----------------------------------------------------------------------------- basics

def test_a_transaction_publishes_every_file_and_records_them(tmp_path):
    publish(tmp_path, "A")
    assert generations(tmp_path) == {"A"}
    assert files.owned_files(tmp_path) == sorted(FILES)
    assert not list(tmp_path.glob(".staging-*")) and not (tmp_path / files.JOURNAL_NAME).exists()


def test_the_manifest_is_deterministic(tmp_path):
    publish(tmp_path / "a", "A")
    publish(tmp_path / "b", "B")
    assert (tmp_path / "a" / files.MANIFEST_NAME).read_bytes() == \
        (tmp_path / "b" / files.MANIFEST_NAME).read_bytes()


def test_unchanged_files_are_not_rewritten(tmp_path):
    publish(tmp_path, "A")
    tx = publish(tmp_path, "A")
    assert tx.installed == [] and tx.deleted == []


def test_an_exception_inside_leaves_the_previous_set(tmp_path):
    publish(tmp_path, "A")
    with pytest.raises(RuntimeError), Transaction(tmp_path, prune=True) as tx:
        tx.write_text("tables/t0.md", "B tables/t0.md\n")
        raise RuntimeError("fit failed")
    assert generations(tmp_path) == {"A"} and not list(tmp_path.glob(".staging-*"))


def test_only_files_the_package_wrote_are_deleted(tmp_path):
    publish(tmp_path, "A")
    (tmp_path / "tables" / "my_notes.md").write_text("mine")
    tx = publish(tmp_path, "B", files=FILES[1:])  # t0 no longer produced: stale
    assert tx.deleted == ["tables/t0.md"] and not (tmp_path / "tables" / "t0.md").exists()
    assert (tmp_path / "tables" / "my_notes.md").read_text() == "mine"
    assert "tables/my_notes.md" not in files.owned_files(tmp_path)


def test_a_partial_transaction_keeps_the_other_owned_files(tmp_path):
    publish(tmp_path, "A")
    publish(tmp_path, "B", files=["tables/t0.md"], prune=False)
    assert (tmp_path / "tables" / "t1.md").read_text().startswith("A")
    assert files.owned_files(tmp_path) == sorted(FILES)


def test_paths_outside_the_folder_are_refused(tmp_path):
    with Transaction(tmp_path) as tx:
        for bad in ("../x.md", "/etc/x", files.MANIFEST_NAME, ".staging-1/x"):
            with pytest.raises(ValueError, match="not a path inside"):
                tx.path(bad)


def test_leftover_staging_and_temporary_files_are_cleaned(tmp_path):
    publish(tmp_path, "A")
    (tmp_path / ".staging-99999" / "tables").mkdir(parents=True)
    (tmp_path / ".staging-99999" / files.STAGING_MARKER).write_text("ours")
    (tmp_path / ".staging-99999" / "tables" / "t0.md").write_text("half")
    (tmp_path / "tables" / ".t0.md.ab12cd34.tmp").write_text("half")
    publish(tmp_path, "B")
    assert not (tmp_path / ".staging-99999").exists()
    assert not (tmp_path / "tables" / ".t0.md.ab12cd34.tmp").exists()


def test_a_staging_folder_without_the_package_marker_is_not_ours_and_stays(tmp_path):
    """Only folders named .staging-* *and* holding the marker regrowth writes are leftovers."""
    publish(tmp_path, "A")
    (tmp_path / ".staging-mine").mkdir()
    (tmp_path / ".staging-mine" / "draft.md").write_text("mine")
    publish(tmp_path, "B")
    assert (tmp_path / ".staging-mine" / "draft.md").read_text() == "mine"
    assert generations(tmp_path) == {"B"}
    assert files.STAGING_MARKER not in "".join(files.owned_files(tmp_path))


def test_a_staging_folder_left_by_a_kill_9_is_cleaned_by_the_next_run(tmp_path):
    """A writer killed while staging leaves .staging-<pid> (with the marker); the next run
    deletes it and publishes its own set."""
    root = tmp_path / "out"
    publish(root, "G0")
    pid, started = _forked_writer(root, "G1")     # defined with the kill -9 tests below
    assert os.read(started, 1) == b"s"
    os.close(started)
    deadline = time.monotonic() + 30
    while not list(root.glob(f".staging-{pid}/tables/*.md")):
        assert time.monotonic() < deadline, "the writer never staged a file"
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    left = root / f".staging-{pid}"
    assert (left / files.STAGING_MARKER).is_file() and generations(root) == {"G0"}
    publish(root, "G2")
    assert not left.exists() and generations(root) == {"G2"}


# ----------------------------------------------------------------------------- links, devices

def _cross_device(monkeypatch, linked: Path):
    """os.replace fails with EXDEV for a move from a staging folder into ``linked`` (as
    when ``results/tables`` is a link to another file system); other renames work."""
    real_replace = os.replace
    moves = []

    def replace(src, dst, *a, **kw):
        src, dst = Path(src), Path(dst)
        if any(p.startswith(files.STAGING_PREFIX) for p in src.parts) and \
                dst.parent.resolve() == linked.resolve():
            moves.append(dst.name)
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(src), None, str(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)
    return moves


def test_a_commit_into_a_folder_on_another_file_system_completes(tmp_path, monkeypatch):
    """results/tables is a link to another disk: the rename fails with EXDEV, the file is
    copied beside the target and renamed there; the whole set is published, nothing is left
    half-done, and the next run works the same way."""
    root, other = tmp_path / "results", tmp_path / "other_disk" / "tables"
    other.mkdir(parents=True)
    root.mkdir()
    (root / "tables").symlink_to(other, target_is_directory=True)
    publish(root, "A")
    moves = _cross_device(monkeypatch, other)
    for gen in ("B", "C"):
        publish(root, gen)
        assert generations(root) == {gen}
        assert {p.name for p in other.iterdir()} == {f"t{i}.md" for i in range(4)}  # no .tmp
        assert not list(root.glob(".staging-*")) and not (root / files.JOURNAL_NAME).exists()
    assert sorted(moves) == sorted([f"t{i}.md" for i in range(4)] * 2)  # the EXDEV path ran
    assert (root / "tables").is_symlink() and files.owned_files(root) == sorted(FILES)


def test_a_read_only_linked_folder_is_refused_before_anything_is_written(tmp_path,
                                                                          monkeypatch):
    """results/tables links to a folder that cannot be written (simulated through os.access:
    the runs are as root): the transaction refuses on entry, not half-way through its commit."""
    root, other = tmp_path / "results", tmp_path / "other_disk" / "tables"
    other.mkdir(parents=True)
    root.mkdir()
    (root / "tables").symlink_to(other, target_is_directory=True)
    publish(root, "A")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **kw: False
                        if Path(p).resolve() == other.resolve() else real_access(p, mode, *a, **kw))
    with pytest.raises(OutputError, match=r"results/tables/ is not writable"):
        publish(root, "B")
    assert generations(root) == {"A"} and not (root / files.JOURNAL_NAME).exists()


def test_a_replay_interrupted_across_file_systems_is_completed(tmp_path, monkeypatch):
    """A journal whose replay stopped half-way (the kill or an old version's EXDEV error)
    is completed by the next entry point over the link, temporary copies included."""
    root, other = tmp_path / "results", tmp_path / "other_disk" / "tables"
    other.mkdir(parents=True)
    root.mkdir()
    (root / "tables").symlink_to(other, target_is_directory=True)
    publish(root, "A")
    _cross_device(monkeypatch, other)
    real_install = files._install
    calls = []

    def install_then_die(src, target):
        if len(calls) == 2:
            (target.parent / f".{target.name}.abcd1234.tmp").write_text("half a copy")
            raise KeyboardInterrupt  # killed inside the third move
        calls.append(target.name)
        real_install(src, target)

    monkeypatch.setattr(files, "_install", install_then_die)
    with pytest.raises(KeyboardInterrupt):
        publish(root, "B")
    assert (root / files.JOURNAL_NAME).is_file() and len(generations(root)) == 2   # mixed
    monkeypatch.setattr(files, "_install", real_install)
    assert files.recover(root) is True
    assert generations(root) == {"B"} and not (root / files.JOURNAL_NAME).exists()
    publish(root, "B")   # a later run cleans the half copy beside the linked target
    assert not list(other.glob("*.tmp"))


def test_a_link_to_another_projects_results_deletes_nothing_there(tmp_path, capsys):
    """results/ is a link to another project's results folder (written by that project's
    regrowth): links are resolved before deciding what is ours, so a full run publishes its
    files there but deletes none of the other project's files."""
    theirs = tmp_path / "project_a" / "results"
    publish(theirs, "A", files=FILES + [f"tables/a{i}.md" for i in range(40)])
    ours = tmp_path / "project_b" / "results"
    ours.parent.mkdir()
    ours.symlink_to(theirs, target_is_directory=True)
    tx = publish(ours, "B", files=FILES[:2])
    assert tx.deleted == []
    assert all((theirs / "tables" / f"a{i}.md").read_text().startswith("A") for i in range(40))
    assert (theirs / "tables" / "t0.md").read_text().startswith("B")  # what the run wrote
    err = capsys.readouterr().err
    assert f"{ours} is a link to {theirs.resolve()}" in err and "none is deleted" in err
    assert f"written by the regrowth run that wrote {theirs}" in err
    # the other project's own run still prunes its stale files there
    tx = publish(theirs, "A2", files=FILES)
    assert "tables/a0.md" in tx.deleted and not (theirs / "tables" / "a0.md").exists()


def test_a_linked_folder_with_files_but_no_record_of_its_writer_is_not_ours(tmp_path):
    theirs = tmp_path / "elsewhere"
    publish(theirs, "A")
    (theirs / files.OWNER_NAME).unlink()      # written by a version that kept no record
    link = tmp_path / "results"
    link.symlink_to(theirs, target_is_directory=True)
    assert "nothing records that this project wrote" in files.foreign_folder(link)
    assert publish(link, "B", files=FILES[:1]).deleted == []
    assert generations(theirs) == {"A", "B"}


def test_our_own_results_on_a_linked_disk_are_pruned(tmp_path):
    """A link made by the project for its own outputs (first written through the link) is
    ours: stale files are removed as in a plain folder."""
    disk = tmp_path / "big_disk" / "results"
    disk.mkdir(parents=True)
    link = tmp_path / "project" / "results"
    link.parent.mkdir()
    link.symlink_to(disk, target_is_directory=True)
    publish(link, "A")
    assert files.foreign_folder(link) is None
    assert publish(link, "B", files=FILES[1:]).deleted == ["tables/t0.md"]
    assert not (disk / "tables" / "t0.md").exists()


# ----------------------------------------------------------------------------- readers

def publish_json(root: Path, generation: str, files_) -> None:
    """Like :func:`publish`, each file the JSON list ``[generation, path]``."""
    with Transaction(root, prune=True) as tx:
        for rel in files_:
            tx.write_text(rel, json.dumps([generation, rel]) + "\n")


def json_generations(root: Path, files_) -> set[str]:
    return {json.loads((root / rel).read_text())[0] for rel in files_}


def half_commit(root: Path, old: str, new: str, monkeypatch, files_=FILES,
                publish_=None) -> None:
    """Publish ``old``, then leave ``new`` half-installed with its journal, as a kill -9
    inside the commit does (the third rename never happens)."""
    publish_ = publish_ or (lambda r, g, f: publish(r, g, files=f))
    publish_(root, old, files_)
    real_install, calls = files._install, []

    def install_then_die(src, target):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(target)
        real_install(src, target)

    with monkeypatch.context() as m:
        m.setattr(files, "_install", install_then_die)
        with pytest.raises(KeyboardInterrupt):
            publish_(root, new, files_)
    assert (root / files.JOURNAL_NAME).is_file()


ESTIMATES = ["estimates.json", "tables/t0.md", "tables/t1.md", "figures/f.png"]


def project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "models.toml").write_text("")
    return tmp_path


def test_the_results_reader_completes_a_half_commit_before_reading(tmp_path, monkeypatch):
    from regrowth.report import reader
    root = project(tmp_path) / "results"
    half_commit(root, "A", "B", monkeypatch, ESTIMATES, publish_json)
    assert json_generations(root, ESTIMATES) == {"A", "B"}                     # mixed
    assert reader.load_estimates(tmp_path) == ["B", "estimates.json"]
    assert json_generations(root, ESTIMATES) == {"B"} and not (root / files.JOURNAL_NAME).exists()
    assert not list(root.glob(".staging-*"))


def test_the_curve_reader_completes_a_half_commit_before_reading(tmp_path, monkeypatch):
    from regrowth.report import reader
    curves = project(tmp_path) / "results" / "curve"
    names = ["innovation.json", "innovation.csv", "growth.json", "growth.csv"]
    half_commit(curves, "A", "B", monkeypatch, names, publish_json)
    assert json_generations(curves, names) == {"A", "B"}                      # mixed
    assert reader.load_curve("innovation", tmp_path)[0] == "B"
    assert json_generations(curves, names) == {"B"}


def test_regrowth_show_completes_a_half_commit_before_printing(tmp_path, monkeypatch, capsys):
    from regrowth import cli
    root = tmp_path / "results"
    half_commit(root, "A", "B", monkeypatch)
    assert cli.main(["show", "t3", "--results-dir", str(root)]) == 0
    assert capsys.readouterr().out == "B tables/t3.md\n"
    assert generations(root) == {"B"}


def test_notebooks_complete_a_half_commit_before_running(tmp_path, monkeypatch):
    from regrowth import notebooks
    root = project(tmp_path) / "results"
    half_commit(root, "A", "B", monkeypatch)
    (tmp_path / "notebooks").mkdir()
    assert notebooks.run(tmp_path / "notebooks", quiet=True) == {}
    assert generations(root) == {"B"} and not (root / files.JOURNAL_NAME).exists()


def test_a_reader_that_cannot_complete_a_half_commit_refuses_to_read(tmp_path, monkeypatch):
    """A read-only results folder (simulated: the replay's first rename is refused, as
    chmod a-w does for a user other than root) with a half commit: the reader says so and
    reads nothing, rather than reading the mix."""
    from regrowth.report import reader
    root = project(tmp_path) / "results"
    half_commit(root, "A", "B", monkeypatch, ESTIMATES, publish_json)

    def refused(src, target):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))

    monkeypatch.setattr(files, "_install", refused)
    with pytest.raises(OutputError) as err:
        reader.load_estimates(tmp_path)
    text = str(err.value)
    assert "half-published" in text and "nothing was read" in text
    assert "`regrowth replicate`" in text and str(root / files.JOURNAL_NAME) in text
    assert json_generations(root, ESTIMATES) == {"A", "B"}  # untouched: the next writer completes it


# ----------------------------------------------------------------------------- kill -9

def _forked_writer(root: Path, generation: str) -> tuple[int, int]:
    """``(pid, read end of a pipe)`` of a child process, forked from this one (so it starts at
    once, with the package already imported), that publishes ``FILES`` as ``generation``
    through a Transaction, sleeping 0.02 s before staging each file and (via
    REGROWTH_TEST_COMMIT_DELAY) 0.04 s before each rename of the commit; it writes one byte to
    the pipe when it starts and never returns into the test."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write, then leave without running anything of pytest's
        status = 1
        try:
            os.close(read)
            os.environ["REGROWTH_TEST_COMMIT_DELAY"] = "0.04"
            os.write(write, b"s")
            with Transaction(root, prune=True) as tx:
                for rel in FILES:
                    time.sleep(0.02)  # staging takes a while too
                    tx.write_text(rel, generation + " " + rel + "\n")
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    return pid, read


def test_kill_9_at_random_moments_leaves_the_old_or_the_new_complete_set(tmp_path):
    """A writer that sleeps before each rename of the commit is killed at random moments;
    after recovery (any later regrowth run) every file is of one generation, and before it
    a mixed folder always carries the journal that completes it."""
    root = tmp_path / "out"
    publish(root, "G0")
    rng = random.Random(20181121)
    seen = set()
    for k in range(1, 11):
        pid, started = _forked_writer(root, f"G{k}")
        assert os.read(started, 1) == b"s"
        os.close(started)
        time.sleep(rng.uniform(0.0, (0.02 + 0.04) * (len(FILES) + 1)))  # staging or commit
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        before = generations(root)
        if len(before) > 1:
            assert (root / files.JOURNAL_NAME).is_file(), "a mixed set without a journal"
        files.recover(root)
        after = generations(root)
        assert after in ({f"G{k - 1}"}, {f"G{k}"}), (before, after)
        assert files.owned_files(root) == sorted(FILES)
        seen.add("new" if after == {f"G{k}"} else "old")
        # make the generations consecutive for the next round
        publish(root, f"G{k}")
    assert not list(root.glob(".staging-*"))
    assert seen  # which outcomes occur depends on timing; each one is a complete set


RUNNER = textwrap.dedent("""
    import sys
    from regrowth import replicate
    sys.exit(replicate.run(specs=sys.argv[1], processed_dir=sys.argv[2],
                           results_dir=sys.argv[3], notebooks=False))
""")


@pytest.mark.parametrize("fraction", [pytest.param(0.1, marks=pytest.mark.slow), 0.5,
                                      pytest.param(0.9, marks=pytest.mark.slow)])
def test_kill_9_of_a_replicate_run_during_its_commit(tmp_path, fraction):
    """A real `replicate` run killed inside its commit (after the journal is written): the
    folder is completed by the next run's recovery, and every file of the table and
    estimates.json then come from one run (the two runs' table titles differ)."""
    from test_replicate import SPEC, synthetic_panel

    processed = synthetic_panel(tmp_path / "processed")
    results = tmp_path / "results"
    for gen in ("GenA", "GenB"):
        (tmp_path / f"{gen}.toml").write_text(SPEC.replace("Table T1", f"Table {gen}"))
    assert replicate.run(specs=tmp_path / "GenA.toml", processed_dir=processed,
                         results_dir=results, notebooks=False) == 0
    (results / "tables" / "my_notes.md").write_text("mine")
    (tmp_path / "run.py").write_text(RUNNER)
    env = {**os.environ, "PYTHONPATH": str(SRC), "REGROWTH_TEST_COMMIT_DELAY": "0.05",
           "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "GenB.toml"),
                             str(processed), str(results)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (results / files.JOURNAL_NAME).exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the run never committed"
        time.sleep(0.005)
    journal = json.loads((results / files.JOURNAL_NAME).read_text())
    time.sleep(fraction * 0.05 * len(journal["install"]))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    files.recover(results)
    written = [f"tables/t1.{ext}" for ext in ("md", "tex", "html", "csv")] + ["estimates.json"]
    gens = {("GenB" if "Table GenB" in (results / f).read_text() else "GenA") for f in written}
    assert gens == {"GenB"}  # the journal was written: recovery completes the new set
    assert (results / "tables" / "my_notes.md").read_text() == "mine"
    assert not list(results.glob(".staging-*")) and not (results / files.JOURNAL_NAME).exists()


@pytest.mark.slow
def test_a_kill_before_the_commit_point_leaves_the_previous_outputs(tmp_path):
    from test_replicate import SPEC, synthetic_panel

    processed = synthetic_panel(tmp_path / "processed")
    results = tmp_path / "results"
    assert replicate.run(specs=_spec(tmp_path, SPEC), processed_dir=processed,
                         results_dir=results, notebooks=False) == 0
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()
              and p.name != files.LOCK_NAME}
    (tmp_path / "run.py").write_text(RUNNER)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "run.py"),
                             str(_spec(tmp_path, SPEC.replace("Table T1", "Other"))),
                             str(processed), str(results)],
                            env={**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg"},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().startswith("replicate: fitting")  # fitting: nothing published
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    files.recover(results)
    after = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()
             and p.name != files.LOCK_NAME and not p.parent.name.startswith(".staging-")}
    assert after == before


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"spec{abs(hash(text)) % 10**6}.toml"
    path.write_text(text)
    return path


def test_a_table_whose_fit_fails_keeps_its_last_good_outputs(tmp_path, capsys):
    from test_replicate import COLLINEAR, SPEC, synthetic_panel

    processed = synthetic_panel(tmp_path / "processed")
    results = tmp_path / "results"
    assert replicate.run(specs=_spec(tmp_path, SPEC), processed_dir=processed,
                         results_dir=results, notebooks=False) == 0
    md = (results / "tables" / "t1.md").read_bytes()
    est = json.loads((results / "estimates.json").read_text())["tables"]["t1"]
    assert replicate.run(specs=_spec(tmp_path, SPEC + COLLINEAR), processed_dir=processed,
                         results_dir=results, notebooks=False) == 1
    assert "keeping the table's last good outputs" in capsys.readouterr().err
    assert (results / "tables" / "t1.md").read_bytes() == md
    assert json.loads((results / "estimates.json").read_text())["tables"]["t1"] == est


def test_replicate_refuses_a_read_only_results_folder_before_fitting(tmp_path, monkeypatch):
    from test_replicate import SPEC, synthetic_panel

    processed = synthetic_panel(tmp_path / "processed")
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    real = os.access
    monkeypatch.setattr(files.os, "access", lambda p, mode: False if Path(p) == results
                        else real(p, mode))
    fitted = []
    monkeypatch.setattr(replicate, "fit_column", lambda *a: fitted.append(a))
    with pytest.raises(OutputError, match="results/ is not writable"):
        replicate.run(specs=_spec(tmp_path, SPEC), processed_dir=processed,
                      results_dir=results, notebooks=False)
    assert fitted == [] and list((results / "tables").iterdir()) == []


# ----------------------------------------------------------------------------- lock, read-only

def test_a_second_run_waits_for_the_lock_and_then_says_who_holds_it(tmp_path, capsys):
    with Transaction(tmp_path):
        with pytest.raises(OutputError, match=r"another regrowth run \(pid \d+\) is writing"):
            with Transaction(tmp_path, lock_timeout=0.3):
                pass
    assert "waiting for it to finish" in capsys.readouterr().err
    with Transaction(tmp_path):  # released
        pass


@pytest.mark.parametrize("value", ["abc", "-5", "inf", "nan", "10s"])
def test_a_lock_timeout_of_the_wrong_form_is_refused_naming_the_variable(tmp_path, monkeypatch,
                                                                         value):
    from regrowth.errors import SpecificationError

    publish(tmp_path, "old")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.setenv("REGROWTH_LOCK_TIMEOUT", value)
    with pytest.raises(SpecificationError) as err:
        publish(tmp_path, "new")
    msg = str(err.value)
    assert f"REGROWTH_LOCK_TIMEOUT={value!r}" in msg
    assert "number of seconds >= 0" in msg and "unset it" in msg
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".staging-*"))


@pytest.mark.parametrize(("value", "seconds"), [("", 600.0), ("0", 0.0), (" 2.5 ", 2.5)])
def test_a_lock_timeout_in_seconds_is_read_from_the_environment(monkeypatch, value, seconds):
    monkeypatch.setenv("REGROWTH_LOCK_TIMEOUT", value)
    assert files.env_seconds("REGROWTH_LOCK_TIMEOUT", 600.0) == seconds


def test_a_read_only_folder_is_reported_before_anything_is_done(tmp_path, monkeypatch):
    (tmp_path / "tables").mkdir()
    real = os.access
    monkeypatch.setattr(files.os, "access", lambda p, mode: False if Path(p) == tmp_path / "tables"
                        else real(p, mode))
    with pytest.raises(OutputError, match=r"tables/ is not writable.*nothing was fitted"):
        with Transaction(tmp_path):
            pass
    assert not list(tmp_path.glob(".staging-*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_a_chmod_read_only_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    os.chmod(tmp_path / "out", 0o555)
    try:
        with pytest.raises(OutputError, match="not writable"), Transaction(tmp_path / "out"):
            pass
    finally:
        os.chmod(tmp_path / "out", 0o755)


# ----------------------------------------------------------------------------- CSV

@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd", "'-2+3+cmd"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("-0.023***", "-0.023***"),
    ("-1.5e-3", "-1.5e-3"),
    ("+3", "+3"),
    ("-4%", "-4%"),
    ("(0.009)", "(0.009)"),
    ("Seoul", "Seoul"),
    (-3.5, -3.5),
])
def test_csv_cells_that_would_run_as_formulas_are_escaped(cell, expected):
    assert files.csv_cell(cell) == expected


def test_csv_frames_escape_text_and_keep_negative_numbers(tmp_path):
    df = pd.DataFrame({"name": ["=1+1", "ok"], "value": [-1.5, 2.0], "n": [-3, 4]})
    path = tmp_path / "x.csv"
    files.csv_safe_frame(df).to_csv(path, index=False)
    back = pd.read_csv(path)
    assert back["name"].tolist() == ["'=1+1", "ok"]
    assert back["value"].tolist() == [-1.5, 2.0] and back["n"].tolist() == [-3, 4]


def test_table_csv_escapes_a_formula_in_a_label():
    from regrowth.report.tables import TableColumn, regression_table

    coefs = pd.DataFrame({"term": ["x"], "equation": ["main"], "estimate": [-0.5],
                          "std_error": [0.1], "statistic": [-5.0], "p_value": [0.001],
                          "ci_low": [-0.7], "ci_high": [-0.3]})
    tab = regression_table([TableColumn("(1)", "m", coefs, {"nobs": 10})], title="T",
                           var_labels={"x": "=cmd()"}, stat_rows=[("nobs", "N")])
    text = tab.to_csv()
    assert "'=cmd()" in text and "-0.500***" in text and "'-0.500" not in text


def test_the_panel_csv_keeps_negative_numbers_numeric(tmp_path):
    from regrowth import panel

    idx = pd.MultiIndex.from_tuples([("seoul", 2001), ("busan", 2001)], names=["region", "year"])
    p = pd.DataFrame({"growth": [-1.25, 2.0], "note": ["-bad", "fine"]}, index=idx)
    book = pd.DataFrame({"column": ["growth"], "label": ["=growth"]})
    panel.write(p, book, tmp_path)
    back = pd.read_csv(tmp_path / "panel.csv")
    assert back["growth"].tolist() == [-1.25, 2.0] and back["note"].tolist() == ["'-bad", "fine"]
    assert pd.read_csv(tmp_path / "codebook.csv")["label"].tolist() == ["'=growth"]
    assert files.owned_files(tmp_path) == ["codebook.csv", "panel.csv", "panel.parquet"]
