"""Command line: ``python -m loopvalley reproduce [--scale S] [--only NAME ...] [--seeds N] [--at-once N] [--out DIR]``.

``list`` shows the registered experiments and the claims each one measures.
``figures --out DIR [--scale S]`` writes every chapter's main figures (SVG + PNG + captions) for slides
(see :mod:`loopvalley.figures`).
``train --model single|looped|shift [--scale S] [--FIELD VALUE ...]`` trains one run from a preset
(see :mod:`loopvalley.scale.cli_train`).
``spectrum`` computes the top of a trained model's Hessian spectrum, on one process or under torchrun
(see :mod:`loopvalley.hessian.cli`).
``student-release --out DIR`` writes the notebooks without solutions (see :mod:`loopvalley.release`).
"""

from __future__ import annotations

import argparse
import sys
import time

from loopvalley.scales import SCALES


def _reproduce(args) -> int:
    from loopvalley.registry import reproduce

    claims = reproduce(
        only=args.only, scale=args.scale, seeds=args.seeds, out=args.out, progress=not args.quiet,
        max_steps=args.max_steps, workers=args.workers, threads=args.threads, at_once=args.at_once,
    )
    emp = [c for c in claims if c.kind == "empirical"]
    n = {v: sum(c.status == v for c in emp) for v in ("holds", "fails", "fragile", "inconclusive")}
    print(f"{len(claims)} claims, {len(emp)} empirical: {n['holds']} hold, {n['fails']} fail, {n['fragile']} fragile, "
          f"{n['inconclusive']} inconclusive ({len(claims) - len(emp)} identities or by construction); ledger written.")
    return 0


def _list(args) -> int:
    from loopvalley.registry import load_all

    for name, exp in sorted(load_all().items()):
        print(f"{name:18s} {' '.join(exp.claim_ids):24s} {exp.description}")
    return 0


def _figures(args) -> int:
    from loopvalley.figures import write_figures

    t = time.time()
    figs = write_figures(args.out, scale=args.scale, chapters=args.only, budget=args.budget)
    made = [f for f in figs if f.files]
    for f in figs:
        print(f"{f.name:34s} {f.source}" if f.files else f"{f.name:34s} {f.caption}")
    print(f"{len(made)} figures (SVG + PNG) and captions.json / captions.md written to {args.out} in {time.time() - t:.0f} s.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loopvalley", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("reproduce", help="run the experiments and write claims.json, REPORT.md, figures")
    r.add_argument("--scale", choices=SCALES, default=None, help="default: $LOOPVALLEY_SCALE, else paper on GPU, small on CPU")
    r.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    r.add_argument("--seeds", type=int, default=None,
                   help="number of confirmatory seeds, >= 2 (default: per experiment and scale)")
    r.add_argument("--workers", type=_positive_int, default=None,
                   help="processes that train seeds side by side (default: one per CPU core)")
    r.add_argument("--at-once", type=_positive_int, default=None, metavar="N",
                   help="experiments that run side by side, each with its own workers (default 2, or 1 on one "
                   "core; 1: one after another); the ledger does not depend on it")
    r.add_argument("--threads", type=_positive_int, default=1, help="torch threads of the main process (default 1); training jobs always run on one thread each")
    r.add_argument("--out", default=None, help="output folder (default: results/<scale>/)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--max-steps", type=_positive_int, default=None, metavar="N",
                   help="smoke test: cap every training run at N steps, evaluation/probe cadences compressed "
                   "to match (e.g. --scale paper --max-steps 20 on a CPU); the ledger's title says so")
    r.set_defaults(func=_reproduce)

    from loopvalley.figures import CHAPTERS

    f = sub.add_parser("figures", help="write every chapter's main figures (SVG + PNG) and captions, for slides")
    f.add_argument("--out", required=True, help="output folder")
    f.add_argument("--scale", choices=SCALES, default="small",
                   help="whose shipped records/figures to draw (default small; nothing is trained at small or paper)")
    f.add_argument("--only", nargs="+", metavar="CHAPTER", choices=CHAPTERS, help="only these chapters")
    f.add_argument("--budget", type=float, default=55.0,
                   help="seconds for the whole command: a missing chapter's live ci-scale fallback run is made only "
                   "if it still fits (default 55; 0: never)")
    f.set_defaults(func=_figures)

    ls = sub.add_parser("list", help="list the registered experiments")
    ls.set_defaults(func=_list)

    from loopvalley.scale.cli_train import add_train_parser  # `train`: one run from a preset (see cli_train)

    add_train_parser(sub)
    from loopvalley.hessian.cli import add_spectrum_parser  # `spectrum`: top-k of a trained model's Hessian (see hessian.cli)

    add_spectrum_parser(sub)
    from loopvalley.release import add_release_parser  # `student-release`: the notebooks without solutions

    add_release_parser(sub)
    return p


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return v


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:
        parser.error(str(e))  # exits 2 with the message


if __name__ == "__main__":
    sys.exit(main())
