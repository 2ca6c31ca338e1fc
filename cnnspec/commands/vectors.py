"""``cnnspec vectors export DIR``: language-neutral golden test vectors (JSON + .npy, and a README)."""
from __future__ import annotations


from .. import options
from ..errors import UsageError


def add_parser(sub):
    p = sub.add_parser("vectors", help="export golden test vectors for implementations outside Python",
                       description="Write exact conv1d/conv2d/max_pool2d/avg_pool2d cases as JSON "
                                   "and .npy, with a README describing the format.")
    p.add_argument("action", choices=["export"])
    p.add_argument("dir", help="output folder: new or empty (a folder with files needs --force)")
    p.add_argument("--count", type=options.count(options.COUNT), default=25,
                   help="cases per op, 1 to 10,000 (default 25)")
    p.add_argument("--seed", type=options.seed, default=0, help="0 to 2^32-1 (default 0)")
    p.add_argument("--force", action="store_true",
                   help="write into a folder that already holds files (they may be replaced)")
    return p


def run(args) -> int:
    out = options.output_folder(args.dir, "dir")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise UsageError(f"dir: {args.dir!r} is not empty; vectors export would replace its files: "
                         f"give a new or empty folder, or --force")
    from ..conformance.vectors import export
    written = export(args.dir, count=args.count, seed=args.seed)
    print(f"wrote {sum(written.values())} cases ({', '.join(f'{k} {v}' for k, v in written.items())}) "
          f"to {args.dir}")
    return 0
