"""Copy a training checkpoint into checkpoints/ in its slim, play-only form, or the mean
of a run's newest step files (``--average N``: stochastic weight averaging, as KataGo
does before a release; see checkpoint.average).

python scripts/ship_checkpoint.py runs/c4/latest.pt checkpoints/connect_four.pt
python scripts/ship_checkpoint.py runs/hexc checkpoints/hex_9x9.pt --average 4
"""

import argparse
import sys

from selfplay import checkpoint
from selfplay.runner import step_files

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("src", help="a checkpoint file, or with --average a run folder")
ap.add_argument("dst")
ap.add_argument("--average", type=int, default=0, help="average the run's newest N step_<moves>.pt files")
args = ap.parse_args()

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
except checkpoint.CheckpointError as e:
    sys.exit(f"error: {e}")
checkpoint.atomic_save(d, args.dst)
print(f"{src} -> {args.dst}")
