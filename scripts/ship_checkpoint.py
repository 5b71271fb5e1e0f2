"""Copy a training checkpoint into checkpoints/ in its slim, play-only form.

python scripts/ship_checkpoint.py runs/c4/latest.pt checkpoints/connect_four.pt
"""

import sys

from selfplay import checkpoint

src, dst = sys.argv[1], sys.argv[2]
checkpoint.atomic_save(checkpoint.slim(checkpoint.load(src)), dst)
print(f"{src} -> {dst}")
