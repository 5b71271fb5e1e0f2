"""Copy a training checkpoint into checkpoints/ in its slim, play-only form, or the mean
of a run's newest step files (``--average N``: stochastic weight averaging, as KataGo
does before a release; see checkpoint.average).

python scripts/ship_checkpoint.py runs/c4/latest.pt checkpoints/connect_four.pt
python scripts/ship_checkpoint.py runs/hexc checkpoints/hex_9x9.pt --average 4

DST must be a new file (``--force`` replaces one that is there), never the source.
"""

import argparse
import sys

# light: a refused DST is one line before torch is imported
from selfplay.checks import TargetError, writable_target

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("src", help="a checkpoint file, or with --average a run folder")
ap.add_argument("dst")
ap.add_argument("--average", type=int, default=0, help="average the run's newest N step_<moves>.pt files")
ap.add_argument("--force", action="store_true", help="replace DST if it is there")
args = ap.parse_args()

try:
    sources = [args.src]
    if args.average and not args.src.endswith(".pt"):
        from selfplay.runner import step_files

        sources = step_files(args.src)
    writable_target(args.dst, name="DST", force=args.force, sources=sources)
except TargetError as e:
    sys.exit(f"error: {e}")

from selfplay import checkpoint  # noqa: E402
from selfplay.runner import step_files  # noqa: E402

try:
    if args.average:
        if args.average < 1:
            raise checkpoint.CheckpointError(f"--average must be at least 1, not {args.average}")
        steps = step_files(args.src)  # oldest first, by moves
        if len(steps) < args.average:
            raise checkpoint.CheckpointError(
                f"{args.src}: holds {len(steps)} step files, not the {args.average} to average"
            )
        files = steps[-args.average :]
        d = checkpoint.average(files)
        src = ", ".join(f.name for f in files)
    else:
        d, src = checkpoint.slim(checkpoint.load(args.src)), args.src
    checkpoint.atomic_save(d, args.dst)
except checkpoint.CheckpointError as e:
    sys.exit(f"error: {e}")
except OSError as e:
    sys.exit(f"error: DST {args.dst}: {e.strerror or e}; nothing was written")
print(f"{src} -> {args.dst}")
