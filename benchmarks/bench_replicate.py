"""Time `regrowth replicate` and its notebooks, and say where the time goes.

Not a test: runs the package as subprocesses from the project root with the environment and
data already in place (`make panel` first), writing into a scratch results folder (the
committed `results/` is left alone; the notebooks read `results/`, so `notebooks/*.ipynb` are
rewritten: do not commit them from a benchmark run). Prints, with the load average before
and after (the reference machine has 2 cores, often shared):

1. wall and CPU seconds (user + sys, children included) of `regrowth replicate
   --no-notebooks`, unprofiled, as it runs by default (two processes: the figures and the
   outputs-stage analyses in a forked background process, `regrowth.background`), with the
   CPU seconds of each process (the larger is the least wall time on an idle machine),
   against the same run in one process (`REGROWTH_BACKGROUND=off`, the peer) in the same
   session, and whether the two wrote the same bytes;
2. the one-process run under cProfile on the CPU clock (the profiler does not follow a
   forked child), broken down by stage: start-up (imports),
   loading and checking, fitting every column, each analysis (bootstrap lines,
   randomization inference, leave-one-out, chain, mediation, reform, spatial, ...), tables,
   descriptives, figures, `estimates.json`, publishing; the profiler's overhead inflates
   pandas-heavy stages, so read the shares, not the seconds;
3. the notebooks executed three at a time (the default, `regrowth.notebooks.WORKERS`) and two
   at a time against one at a time in the same run (the peer), with each notebook's seconds,
   and whether all wrote the same bytes.

    .venv/bin/python benchmarks/bench_replicate.py [--skip-notebooks] [--skip-profile]

The target of issue 19 is a warm `make replicate` with notebooks under 30 s on the 2-core
reference machine.
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
       "MPLCONFIGDIR": str(ROOT / "build" / "mplconfig")}

#: (label, path suffix of the function's file, function name): the stages of a replicate run
#: (disjoint: each is called from the driver, not from another stage)
STAGES = (
    ("load and check specs and panel", "regrowth/replicate.py", "_load_checked"),
    ("fit every column", "regrowth/replicate.py", "_fit_all"),
    ("tables (md, tex, html, csv, docx)", "regrowth/outputs.py", "write_tables"),
    ("descriptive tables", "regrowth/outputs.py", "write_descriptives"),
    ("coefficient figures", "regrowth/outputs.py", "_coefficient_figure"),
    ("panel figures and maps", "regrowth/outputs.py", "_panel_figure"),
    ("estimates.json record", "regrowth/outputs.py", "estimates_record"),
    ("publish (transaction)", "regrowth/files.py", "__exit__"),
)

#: cross-cutting lines (already inside the stages above)
ACROSS = (
    ("  of which: saving figures (png+pdf+svg)", "regrowth/report/figures.py", "save_figure"),
    ("  of which: saving maps", "regrowth/report/maps.py", "save_map"),
    ("  of which: boottest calls", "regrowth/inference/boottest.py", "boottest"),
    ("  of which: reform randomization tests", "regrowth/models/iv.py", "randomization_test"),
    ("  of which: randomization tests of Tables 1-2, 7",
     "regrowth/inference/randomization.py", "randomization_test"),
)


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(args: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall s, CPU s of the child and its children, stdout + stderr)."""
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env={**ENV, **(env or {})},
                          check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, _cpu() - c0, proc.stdout + proc.stderr


#: `regrowth replicate` in this process, then the CPU seconds of this process and of its
#: children (the forked background process) on one line
_SPLIT = """
import resource, sys
from regrowth import cli
rc = cli.main(["replicate", "--no-notebooks", "--results-dir", sys.argv[1]])
s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"SPLIT {s.ru_utime + s.ru_stime:.1f} {c.ru_utime + c.ru_stime:.1f}")
sys.exit(rc)
"""


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".regrowth-owner"}


def replicate_runs(tmp: Path) -> Path:
    """Two processes (the default) against one (the peer), unprofiled, in the same session."""
    two, one = tmp / "two", tmp / "one"
    before = _load()
    wall2, cpu2, out = run(["-c", _SPLIT, str(two)])
    main_cpu, bg_cpu = (float(x) for x in out.split("SPLIT ", 1)[1].split()[:2])
    print(f"regrowth replicate --no-notebooks, two processes (default): wall {wall2:.1f} s, "
          f"CPU {cpu2:.1f} s = {main_cpu:.1f} s main + {bg_cpu:.1f} s background "
          f"(load {before} before, {_load()} after)")
    before = _load()
    wall1, cpu1, _ = run(["-m", "regrowth", "replicate", "--no-notebooks", "--results-dir",
                          str(one)], env={"REGROWTH_BACKGROUND": "off"})
    print(f"regrowth replicate --no-notebooks, one process (REGROWTH_BACKGROUND=off): wall "
          f"{wall1:.1f} s, CPU {cpu1:.1f} s (load {before} before, {_load()} after)")
    print(f"ratio one process / two processes (wall): {wall1 / wall2:.2f}; least wall on two "
          f"idle cores {max(main_cpu, bg_cpu):.1f} s; same bytes: {_tree(one) == _tree(two)}")
    return one


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    return sum(v[3] for (path, _, func), v in stats.stats.items()
               if func == name and path.replace(os.sep, "/").endswith(suffix))


def _analyses(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Cumulative seconds of every analysis's ``_run`` (regrowth/analyses/<name>.py)."""
    out = []
    for (path, _, func), v in stats.stats.items():
        p = path.replace(os.sep, "/")
        if func == "_run" and "/regrowth/analyses/" in p:
            out.append((f"analysis: {Path(p).stem}", v[3]))
    return sorted(out, key=lambda kv: -kv[1])


#: cProfile on the process's CPU clock (time.process_time), not the wall clock, so that the
#: shares do not depend on what else the shared machine runs
_PROFILE = """
import cProfile, runpy, sys, time
out, results = sys.argv[1], sys.argv[2]
sys.argv = ["regrowth", "replicate", "--no-notebooks", "--results-dir", results]
prof = cProfile.Profile(time.process_time)
prof.enable()
try:
    runpy.run_module("regrowth", run_name="__main__")
except SystemExit:
    pass
finally:
    prof.disable()
    prof.dump_stats(out)
"""


def profile_breakdown(results: Path) -> None:
    prof = results.parent / "replicate.prof"
    wall, cpu, _ = run(["-c", _PROFILE, str(prof), str(results)],
                       env={"REGROWTH_BACKGROUND": "off"})
    stats = pstats.Stats(str(prof))
    total = stats.total_tt
    driver = _cumulative(stats, "regrowth/replicate.py", "run")
    rows = [("start-up (imports, argument parsing)", total - driver)]
    rows += [(label, _cumulative(stats, suf, fn)) for label, suf, fn in STAGES]
    rows += _analyses(stats)
    rows.append(("other", total - sum(s for _, s in rows)))
    print(f"\nprofiled run (cProfile, CPU clock, one process): wall {wall:.1f} s, CPU "
          f"{cpu:.1f} s, load {_load()}")
    print(f"{'stage':46s} {'CPU s':>9s} {'share':>6s}")
    for label, secs in rows:
        print(f"{label:46s} {secs:9.1f} {100 * secs / total:5.1f}%")
    for label, suf, fn in ACROSS:
        secs = _cumulative(stats, suf, fn)
        print(f"{label:46s} {secs:9.1f} {100 * secs / total:5.1f}%")
    print(f"{'total (profiled)':46s} {total:9.1f}")


def notebooks() -> None:
    """One, two and three at a time (three, the default: :data:`regrowth.notebooks.WORKERS`)
    in the same run; the peer is one at a time."""
    code = ("import sys; from regrowth import notebooks as nb; "
            "sys.exit(1 if nb.run('notebooks', workers=int(sys.argv[1])) else 0)")
    texts, walls = {}, {}
    for workers in (1, 2, 3):
        before = _load()
        wall, cpu, out = run(["-c", code, str(workers)])
        walls[workers] = wall
        texts[workers] = {p.name: p.read_bytes() for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
        print(f"\nnotebooks, {workers} at a time: wall {wall:.1f} s, CPU {cpu:.1f} s "
              f"(load {before} before, {_load()} after)")
        print("".join(f"  {line.strip()}\n" for line in out.splitlines() if "executed" in line),
              end="")
    print(f"ratio one at a time / two, three at a time (wall): {walls[1] / walls[2]:.2f}, "
          f"{walls[1] / walls[3]:.2f}; same .ipynb bytes: "
          f"{texts[1] == texts[2] == texts[3]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-profile", action="store_true", help="no cProfile breakdown")
    ap.add_argument("--skip-notebooks", action="store_true", help="no notebook timings")
    args = ap.parse_args()
    print(f"load average before: {_load()} (1/5/15 min), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="regrowth-bench-") as tmp:
        results = replicate_runs(Path(tmp))
        if not args.skip_profile:
            profile_breakdown(results)
    if not args.skip_notebooks:
        notebooks()


if __name__ == "__main__":
    main()
