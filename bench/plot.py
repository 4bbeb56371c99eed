#!/usr/bin/env python3
"""python3 bench/plot.py KIND JSON OUT.svg: one chart from a saved result, for JSON that run.py
did not write (shoal-kernels-bench's kernels.json from tests/gpu/run or run-bundle). The same as
`python3 bench/plots.py --from-json JSON --kind KIND -o OUT.svg`; KIND is one of bench/plots.py's
PLOTTERS (e2e, sim, kernels, gpt, gpt-ddp, ddp, collectives)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plots  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in plots.PLOTTERS:
        sys.exit(__doc__)
    sys.exit(plots.main(["--from-json", sys.argv[2], "--kind", sys.argv[1], "-o", sys.argv[3]]))
