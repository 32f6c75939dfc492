"""Command line: ``regrowth data fetch``, ``regrowth panel``, ``regrowth replicate``.

Also reachable as ``python -m regrowth``. Paths default to the project layout and are
resolved against the current directory (the Makefile runs from the project root).
Exit status: 0 on success, 1 if any step or specification failed, 2 for a data error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regrowth.errors import RegrowthError


def _cmd_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from regrowth import acquire

    bar = tqdm(desc="acquire raw files", unit="file", disable=args.quiet, leave=False)

    def progress(name: str) -> None:
        bar.update(1)
        bar.set_postfix_str(name[-40:], refresh=False)

    report = acquire.fetch(args.manifest, args.raw_dir, args.mirror,
                           allow_download=not args.no_download, progress=progress)
    bar.close()
    print(f"data/raw: {report.summary()}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from regrowth import acquire

    checked = acquire.verify(args.manifest, args.raw_dir)
    print(f"data/raw: {len(checked)} files match the manifest")
    return 0


def _cmd_panel(args: argparse.Namespace) -> int:
    from regrowth import panel

    result = panel.build(args.raw_dir, args.out_dir)
    print(result.describe())
    return 0


def _cmd_replicate(args: argparse.Namespace) -> int:
    from regrowth import replicate

    return replicate.run(specs=args.specs, processed_dir=args.processed_dir,
                         results_dir=args.results_dir, notebooks=not args.no_notebooks,
                         only=args.only)


def _cmd_curve(args: argparse.Namespace) -> int:
    from regrowth import curve

    return curve.run(specs=args.specs, processed_dir=args.processed_dir,
                     results_dir=args.results_dir, ids=args.id, backend=args.backend,
                     workers=args.workers, scheduler=args.scheduler)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="regrowth", description=__doc__.splitlines()[0])
    p.add_argument("--raw-dir", default="data/raw", type=Path)
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="acquire or verify the raw files")
    dsub = data.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="copy from REGROWTH_DATA_MIRROR or download, verifying sha256")
    f.add_argument("--manifest", default="data/raw/MANIFEST.toml", type=Path)
    f.add_argument("--mirror", default=None, help="mirror folder (default: $REGROWTH_DATA_MIRROR)")
    f.add_argument("--no-download", action="store_true", help="never download; mirror only")
    f.add_argument("--quiet", action="store_true")
    f.set_defaults(func=_cmd_fetch)
    v = dsub.add_parser("verify", help="check acquired files against the manifest")
    v.add_argument("--manifest", default="data/raw/MANIFEST.toml", type=Path)
    v.set_defaults(func=_cmd_verify)

    pn = sub.add_parser("panel", help="build data/processed/panel.{parquet,csv} and codebook.csv")
    pn.add_argument("--out-dir", default="data/processed", type=Path)
    pn.set_defaults(func=_cmd_panel)

    r = sub.add_parser("replicate", help="fit every specification; write tables, figures, notebooks")
    r.add_argument("--specs", default="specs/models.toml", type=Path)
    r.add_argument("--processed-dir", default="data/processed", type=Path)
    r.add_argument("--results-dir", default="results", type=Path)
    r.add_argument("--no-notebooks", action="store_true", help="skip executing notebooks/")
    r.add_argument("--only", action="append", default=None, metavar="TABLE",
                   help="fit only this table (repeatable)")
    r.set_defaults(func=_cmd_replicate)

    c = sub.add_parser("curve", help="specification curves of the [[curve]] blocks: "
                                     "results/curve/<id>.{json,csv,png}")
    c.add_argument("--id", action="append", default=None, metavar="ID",
                   help="fit only this curve (repeatable; default: every curve)")
    c.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial",
                   help="serial (default), processes (joblib) or dask (distributed)")
    c.add_argument("--workers", type=int, default=None,
                   help="processes or LocalCluster workers (default: number of CPUs)")
    c.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="Dask scheduler (default: $REGROWTH_DASK_SCHEDULER, else a LocalCluster)")
    c.add_argument("--specs", default="specs/models.toml", type=Path)
    c.add_argument("--processed-dir", default="data/processed", type=Path)
    c.add_argument("--results-dir", default="results/curve", type=Path)
    c.set_defaults(func=_cmd_curve)
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
