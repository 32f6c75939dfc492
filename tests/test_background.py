"""``regrowth.background``: one call in a forked child while the caller goes on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from regrowth import background as bg

pytestmark = pytest.mark.skipif(not bg.enabled(), reason="no fork on this platform")


def _write(path: Path, text: str) -> None:
    path.write_text(f"{text} from {os.getpid()}")


def _fail(message: str) -> None:
    raise ValueError(message)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("no")


def _fail_unpicklably() -> None:
    raise _Unpicklable("local")


def _slow_write(path: Path) -> None:
    time.sleep(3)
    path.write_text("too late")


def test_the_call_runs_in_another_process_and_is_done_when_the_block_ends(tmp_path):
    target = tmp_path / "out.txt"
    with bg.background(_write, target, "hello"):
        here = os.getpid()
    text = target.read_text()
    assert text.startswith("hello from ") and text != f"hello from {here}"


def test_an_exception_in_the_child_is_raised_at_the_end_of_the_block():
    with pytest.raises(ValueError, match="figure 3 failed") as info:
        with bg.background(_fail, "figure 3 failed"):
            pass
    assert any("background process of _fail" in n for n in getattr(info.value, "__notes__", []))


def test_an_exception_that_does_not_pickle_comes_back_as_runtime_error_with_the_traceback():
    with pytest.raises(RuntimeError, match="_fail_unpicklably failed in its background process"
                       "(?s:.*)_Unpicklable"):
        with bg.background(_fail_unpicklably):
            pass


def test_an_exception_in_the_block_kills_the_child_before_it_writes(tmp_path):
    target = tmp_path / "late.txt"
    with pytest.raises(KeyError):
        with bg.background(_slow_write, target):
            raise KeyError("caller gave up")
    time.sleep(3.5)
    assert not target.exists()


def test_off_runs_the_call_here_before_the_block(tmp_path, monkeypatch):
    monkeypatch.setenv("REGROWTH_BACKGROUND", "off")
    target = tmp_path / "out.txt"
    with bg.background(_write, target, "inline"):
        assert target.read_text() == f"inline from {os.getpid()}"


def _take_jobs(jobs: bg.Jobs, path: Path) -> None:
    got = []
    for i in jobs:
        got.append(i)
        time.sleep(0.01)  # both processes are taking jobs meanwhile
    path.write_text(" ".join(map(str, got)))


def test_jobs_are_handed_out_once_each_to_whichever_process_asks(tmp_path):
    """The child and this process both iterate the same Jobs: every number 0..n-1 is done
    exactly once, and both processes got some."""
    jobs = bg.Jobs(60)
    with bg.background(_take_jobs, jobs, tmp_path / "child.txt"):
        _take_jobs(jobs, tmp_path / "here.txt")
    child = [int(v) for v in (tmp_path / "child.txt").read_text().split()]
    here = [int(v) for v in (tmp_path / "here.txt").read_text().split()]
    assert sorted(child + here) == list(range(60))
    assert child and here


def test_without_a_second_process_jobs_are_a_plain_count(monkeypatch):
    monkeypatch.setenv("REGROWTH_BACKGROUND", "off")
    jobs = bg.Jobs(3)
    assert list(jobs) == [0, 1, 2] and list(jobs) == []
