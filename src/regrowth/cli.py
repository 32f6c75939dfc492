"""Command line: ``regrowth data fetch``, ``regrowth data kosis``, ``regrowth panel``, ``regrowth replicate``,
``regrowth notebooks``, ``regrowth show``.

Also reachable as ``python -m regrowth``. Paths default to the project layout and are
resolved against the current directory (the Makefile runs from the project root).
Exit status: 0 on success, 1 if any step or specification failed, 2 for a data error
(the message names the file, row or column and what to do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from regrowth import __version__
from regrowth.errors import RegrowthError

# Each command imports what it runs, inside its function: `regrowth --help`, `regrowth show`
# and `regrowth data fetch` start in about a second instead of importing every estimator,
# the curve machinery and Matplotlib first (about 2.5 s more).

#: Formats ``regrowth show`` can print, in the order it prefers them.
SHOW_FORMATS = ("md", "csv", "tex", "html")

#: ``--backend`` of ``replicate`` and ``curve``: regrowth.curve.BACKENDS, spelled here so
#: that parsing the command line imports no backend (tests/test_cli.py checks they agree).
BACKENDS = ("serial", "processes", "dask")


def _cmd_fetch(args: argparse.Namespace) -> int:
    from regrowth import acquire

    # Copying from the mirror takes about a second: the bar appears only if a step takes
    # longer (downloads), and never on a non-terminal (CI logs, make output).
    total = len(acquire.load_manifest(args.manifest))
    bar = tqdm(total=total, desc="acquire raw files", unit=" files", disable=args.quiet or None,
               delay=2.0, leave=False, file=sys.stderr)

    def progress(name: str) -> None:
        bar.set_postfix_str(name.rsplit("/", 1)[-1][-40:], refresh=False)
        bar.update(1)

    try:
        report = acquire.fetch(args.manifest, args.raw_dir, args.mirror,
                               allow_download=args.allow_download and not args.no_download,
                               progress=progress)
    finally:
        bar.close()
    print(f"data/raw: {report.summary()}")
    return 0


def _cmd_kosis(args: argparse.Namespace) -> int:
    from regrowth.sources import kosis_api, kosis_store
    from regrowth.sources.registry import KOSIS_API, kosis_request

    try:
        tables = [kosis_request(t).table_id for t in args.table or []]
    except KeyError as exc:
        raise RegrowthError(f"{exc.args[0]}; check the id, or declare the table in "
                            "regrowth.sources.registry.KOSIS_API") from None
    kosis_store.clean_staging(args.raw_dir)

    def progress(line: str) -> None:
        print(line, flush=True)

    report = kosis_store.fetch_tables(args.raw_dir, tables or None, refresh=args.refresh,
                                    base=args.api_base, progress=progress,
                                    allow_partial=args.allow_partial, timeout=args.timeout,
                                    retries=args.retries)
    for line in report.lines():
        print(f"data/raw/kosis: {line}")
    print(f"data/raw/kosis: {len(report.tables)} of {len(tables or KOSIS_API)} tables stored "
          f"and verified (lock: data/raw/kosis/{kosis_api.LOCK_NAME})")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from regrowth import acquire

    checked = acquire.verify(args.manifest, args.raw_dir)
    print(f"data/raw: {len(checked)} files match the manifest")
    return 0


def _cmd_panel(args: argparse.Namespace) -> int:
    from regrowth import acquire, panel
    from regrowth.specs import edition_allow_partial

    # the same acquisition and checksum verification as `make panel` (which runs `make data`)
    fetched = acquire.fetch(args.manifest, args.raw_dir, None,
                            allow_download=args.allow_download)
    print(f"data/raw: {fetched.summary()}")

    allowed = edition_allow_partial(args.specs)  # [edition] allow_partial of the spec file
    if allowed:
        print(f"panel: {args.specs} [edition] allow_partial: {', '.join(allowed)}")
    result = panel.build(args.raw_dir, args.out_dir,
                         allow_partial=list(dict.fromkeys([*args.allow_partial, *allowed])),
                         accept_unverified=args.accept_unverified)
    print(result.describe())
    return 0


def _cmd_replicate(args: argparse.Namespace) -> int:
    from regrowth import replicate

    return replicate.run(specs=args.specs, processed_dir=args.processed_dir,
                         results_dir=args.results_dir, notebooks=not args.no_notebooks,
                         only=args.only, backend=args.backend, workers=args.workers,
                         scheduler=args.scheduler)


def _cmd_curve(args: argparse.Namespace) -> int:
    from regrowth import curve

    return curve.run(specs=args.specs, processed_dir=args.processed_dir,
                     results_dir=args.results_dir, ids=args.id,
                     backend=args.backend or curve.DEFAULT_BACKEND,
                     workers=args.workers, scheduler=args.scheduler)


def _cmd_notebooks(args: argparse.Namespace) -> int:
    from regrowth import notebooks

    if args.check:
        stale = notebooks.drifted(args.folder)
        for name in stale:
            print(f"notebooks/{name} differs from its .py source (run `make notebooks`)",
                  file=sys.stderr)
        older = notebooks.stale(args.folder)   # built from other results than results/ holds
        for line in older:
            print(line, file=sys.stderr)
        checked = [p.with_suffix(".ipynb").name for p in notebooks.sources(args.folder)]
        print(f"{args.folder}: {sum(n not in stale for n in checked)} of {len(checked)} notebooks "
              f"have the cells of their .py source ({', '.join(checked)}); "
              f"{len(older)} built from other results than results/ holds")
        return 1 if stale or older else 0
    failures = notebooks.run(args.folder, args.timeout)
    return 1 if failures else 0


def stored_tables(results_dir: str | Path) -> dict[str, list[str]]:
    """``{table id: [formats]}`` of the tables written under ``<results_dir>/tables``."""
    folder = Path(results_dir) / "tables"
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*")) if folder.is_dir() else ():
        if path.name.endswith("_tabular.tex"):  # a table's LaTeX fragment, not a table
            continue
        if path.is_file() and path.suffix.lstrip(".") in SHOW_FORMATS:
            found.setdefault(path.stem, []).append(path.suffix.lstrip("."))
    return found


def _cmd_show(args: argparse.Namespace) -> int:
    from regrowth import files, names

    files.recover_for_reading(args.results_dir)  # never print a half-published set
    tables = stored_tables(args.results_dir)
    if not tables:
        raise RegrowthError(f"no tables under {Path(args.results_dir) / 'tables'}: "
                            "run `make replicate` (or `regrowth replicate`) first")
    if args.table is None:
        print(f"tables under {Path(args.results_dir) / 'tables'} (show one with "
              "`regrowth show TABLE`):")
        for name in tables:
            print(f"  {name}")
        return 0
    # an exact id, else a unique prefix ("table1" -> "table1_innovation"): regrowth.names
    name = names.resolve(args.table, tables, what="stored table",
                         where=str(Path(args.results_dir) / "tables"))
    if args.format not in tables[name]:
        raise RegrowthError(f"{name} was not written as .{args.format} "
                            f"(formats present: {', '.join(tables[name])})")
    path = Path(args.results_dir) / "tables" / f"{name}.{args.format}"
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


class _Formatter(argparse.HelpFormatter):
    """Append each option's default to its help: ``(default: X)``, ``(default: off)`` for
    flags; the mirror option's default is spelled out in its help."""
    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return text + " (default: off)"
        if action.default is None:
            return text
        return text + " (default: %(default)s)"


def _add_data(sub, kw: dict) -> None:
    """``regrowth data fetch|kosis|verify``."""
    data = sub.add_parser("data", help="acquire or verify the raw files",
                          description="Acquire (fetch) or verify the raw files named in the "
                                      "manifest.", **kw)
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    f = dsub.add_parser("fetch", help="copy from REGROWTH_DATA_MIRROR or download, verifying sha256",
                        description="Acquire every file of the manifest into --raw-dir: copy it "
                                    "from the mirror folder or download it from its pinned origin, "
                                    "and refuse any file whose sha256 differs.", **kw)
    f.add_argument("--manifest", default="data/raw/MANIFEST.toml", type=Path,
                   help="manifest listing each raw file, its sha256 and origin")
    f.add_argument("--mirror", default=None,
                   help="local folder holding the raw files (default: $REGROWTH_DATA_MIRROR; "
                        "unset or empty: download)")
    f.add_argument("--allow-download", action="store_true",
                   help="download files missing from the mirror from their pinned origin URLs")
    f.add_argument("--no-download", action="store_true",
                   help="never download (already the default without --allow-download; kept for old scripts)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.set_defaults(func=_cmd_fetch)
    k = dsub.add_parser("kosis", help="fetch the full-edition KOSIS tables through KOSIS OpenAPI "
                                      "(key from $KOSIS_API_KEY)",
                        description="Fetch the full-edition KOSIS tables through KOSIS OpenAPI "
                                    "(Param/statisticsParameterData.do) with the key from "
                                    "$KOSIS_API_KEY, store each as data/raw/kosis/<TABLEID>.json "
                                    "with an entry in data/raw/kosis/kosis.lock.toml, and verify it "
                                    "like a KOSIS download. Stored tables are read offline (no key "
                                    "needed) unless --refresh.", **kw)
    k.add_argument("--table", action="append", default=None, metavar="TABLEID",
                   help="fetch only this table (repeatable; default: every table of "
                        "regrowth.sources.registry.KOSIS_API)")
    k.add_argument("--api-base", default="https://kosis.kr/openapi/Param/statisticsParameterData.do",
                   metavar="URL", help="the service address (HTTPS; http only for a local test "
                                       "server on 127.0.0.1)")
    k.add_argument("--refresh", action="store_true",
                   help="fetch again even if the table is stored and matches its lock entry")
    k.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                   help="per-call connect/read timeout (a whole call may take 3x as long)")
    k.add_argument("--retries", type=int, default=3, metavar="N",
                   help="retries of a call refused for its limits (KOSIS errors 40-42, 50, HTTP "
                        "429/5xx) or cut off, with pauses of 2, 4, 8... s")
    k.add_argument("--allow-partial", action="append", default=[], metavar="TABLEID",
                   help="accept a table covering fewer than the 17 provinces (repeatable)")
    k.set_defaults(func=_cmd_kosis)
    v = dsub.add_parser("verify", help="check acquired files against the manifest",
                        description="Recompute the sha256 of every acquired file and compare it "
                                    "with the manifest.", **kw)
    v.add_argument("--manifest", default="data/raw/MANIFEST.toml", type=Path,
                   help="manifest listing each raw file and its sha256")
    v.set_defaults(func=_cmd_verify)


def _add_panel(sub, kw: dict) -> None:
    """``regrowth panel``."""
    pn = sub.add_parser("panel", help="build data/processed/panel.{parquet,csv} and codebook.csv",
                        description="Verify the raw files against the manifest, parse every raw "
                                    "source, merge, derive and validate the (region, year) panel "
                                    "and write it with its codebook.", **kw)
    pn.add_argument("--out-dir", default="data/processed", type=Path,
                    help="folder the panel and codebook are written to")
    pn.add_argument("--manifest", default="data/raw/MANIFEST.toml", type=Path,
                    help="manifest listing each raw file and its sha256")
    pn.add_argument("--allow-download", action="store_true",
                    help="download raw files missing from REGROWTH_DATA_MIRROR")
    pn.add_argument("--allow-partial", action="append", default=[], metavar="TABLEID",
                    help="accept a full-edition KOSIS download covering fewer than the 17 "
                         "provinces (repeatable; default: refuse)")
    pn.add_argument("--accept-unverified", action="append", default=[], metavar="TABLEID",
                    help="read a full-edition KOSIS download that states neither its item nor "
                         "its unit (repeatable; default: refuse)")
    pn.add_argument("--specs", default="specs/models.toml", type=Path,
                    help="specification file whose [edition] allow_partial lists more such "
                         "table ids")
    pn.set_defaults(func=_cmd_panel)


def _add_replicate(sub, kw: dict) -> None:
    """``regrowth replicate``."""
    r = sub.add_parser("replicate", help="fit every specification; write tables, figures, notebooks",
                       description="Fit every column of the specification file on the panel and "
                                   "write results/tables, results/figures, results/estimates.json; "
                                   "then build and execute the notebooks.", **kw)
    r.add_argument("--specs", default="specs/models.toml", type=Path,
                   help="specification file: what to fit")
    r.add_argument("--processed-dir", default="data/processed", type=Path,
                   help="folder holding panel.parquet (built by `regrowth panel`)")
    r.add_argument("--results-dir", default="results", type=Path,
                   help="folder the tables, figures and estimates.json are written to")
    r.add_argument("--no-notebooks", action="store_true",
                   help="skip building and executing notebooks/")
    r.add_argument("--only", action="append", default=None, metavar="TABLE",
                   help="fit only this table, by id or unique prefix (repeatable; default: "
                        "every table); only the notebooks that read it are rebuilt")
    r.add_argument("--backend", choices=BACKENDS, default=None,
                   help="where the randomization tests run their draws: serial, processes "
                        "(joblib) or dask, as `regrowth curve --backend`; the results are the "
                        "same on each (default: $REGROWTH_BACKEND, else serial)")
    r.add_argument("--workers", type=int, default=None,
                   help="processes or LocalCluster workers (default: number of CPUs)")
    r.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="Dask scheduler (default: $REGROWTH_DASK_SCHEDULER, else a LocalCluster)")
    r.set_defaults(func=_cmd_replicate)


def _add_notebooks(sub, kw: dict) -> None:
    """``regrowth notebooks``."""
    nbp = sub.add_parser("notebooks", help="build notebooks/*.ipynb from their .py sources and run them",
                         description="Build each notebooks/0N_name.ipynb from its jupytext py:percent "
                                     "source notebooks/0N_name.py and execute it (the notebooks read "
                                     "results/: run `regrowth replicate` first).", **kw)
    nbp.add_argument("--folder", default="notebooks", type=Path,
                     help="folder holding the notebook sources")
    nbp.add_argument("--timeout", default=300, type=int, help="seconds allowed per cell")
    nbp.add_argument("--check", action="store_true",
                     help="only report notebooks whose cells differ from their source; run nothing")
    nbp.set_defaults(func=_cmd_notebooks)


def _add_show(sub, kw: dict) -> None:
    """``regrowth show``."""
    s = sub.add_parser("show", help="print a stored results table to the terminal",
                       description="Print results/tables/TABLE.<format> as `make replicate` "
                                   "wrote it. Without TABLE, list the stored tables. TABLE may "
                                   "be a unique prefix, e.g. `regrowth show table1`.", **kw)
    s.add_argument("table", nargs="?", default=None, metavar="TABLE",
                   help="table id or unique prefix (default: list the tables)")
    s.add_argument("--format", default="md", choices=SHOW_FORMATS,
                   help="which rendering to print")
    s.add_argument("--results-dir", default="results", type=Path,
                   help="folder `make replicate` wrote to")
    s.set_defaults(func=_cmd_show)


def _add_curve(sub, kw: dict) -> None:
    """``regrowth curve``."""
    c = sub.add_parser("curve", help="specification curves of the [[curve]] blocks: "
                                     "results/curve/<id>.{json,csv,png}",
                       description="Fit every specification of each [[curve]] block of the "
                                   "spec file and write its JSON, CSV and figure; failed "
                                   "specifications are listed in the output.", **kw)
    c.add_argument("--id", action="append", default=None, metavar="ID",
                   help="fit only this curve, by id or unique prefix (repeatable; default: "
                        "every curve)")
    c.add_argument("--backend", choices=BACKENDS, default=None,
                   help="serial, processes (joblib) or dask (distributed) (default: "
                        "regrowth.curve.DEFAULT_BACKEND)")
    c.add_argument("--workers", type=int, default=None,
                   help="processes or LocalCluster workers, 1 to 4 x the CPUs (default: "
                        "number of CPUs)")
    c.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="Dask scheduler, with --backend dask only (default: "
                        "$REGROWTH_DASK_SCHEDULER, else a LocalCluster)")
    c.add_argument("--specs", default="specs/models.toml", type=Path, help="specification file")
    c.add_argument("--processed-dir", default="data/processed", type=Path,
                   help="folder of panel.parquet")
    c.add_argument("--results-dir", default="results/curve", type=Path,
                   help="folder the curve outputs are written to")
    c.set_defaults(func=_cmd_curve)


def build_parser() -> argparse.ArgumentParser:
    kw = {"formatter_class": _Formatter}
    p = argparse.ArgumentParser(
        prog="regrowth",
        description="Replication package: fiscal decentralization, regional innovation and "
                    "growth in Korea's 17 provinces. `make replicate` runs data fetch, panel and "
                    "replicate in turn.",
        epilog="Run `regrowth COMMAND --help` for a command's options.", **kw)
    p.add_argument("--version", action="version", version=f"regrowth {__version__}",
                   help="print the package version and exit")
    p.add_argument("--raw-dir", default="data/raw", type=Path,
                   help="folder of the acquired raw files (data fetch, data verify, panel)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for add in (_add_data, _add_panel, _add_replicate, _add_notebooks, _add_show, _add_curve):
        add(sub, kw)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RegrowthError as exc:
        print(f"regrowth: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
