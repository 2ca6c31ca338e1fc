"""``cnnspec vectors export DIR``: language-neutral golden test vectors (JSON + .npy, and a README)."""
from __future__ import annotations

from ..errors import UsageError


def add_parser(sub):
    p = sub.add_parser("vectors", help="export golden test vectors for implementations outside Python",
                       description="Write exact conv1d/conv2d/max_pool2d/avg_pool2d cases as JSON "
                                   "and .npy, with a README describing the format.")
    p.add_argument("action", choices=["export"])
    p.add_argument("dir", help="output folder")
    p.add_argument("--count", type=int, default=25, help="cases per op (default 25)")
    p.add_argument("--seed", type=int, default=0)
    return p


def run(args) -> int:
    if args.count < 1:
        raise UsageError(f"count: {args.count} must be >= 1")
    from ..conformance.vectors import export
    written = export(args.dir, count=args.count, seed=args.seed)
    print(f"wrote {sum(written.values())} cases ({', '.join(f'{k} {v}' for k, v in written.items())}) "
          f"to {args.dir}")
    return 0
