#!/usr/bin/env python3
"""bench/plots.py on a synthetic result of every target with a chart: a well-formed SVG with
drawn paths, byte-identical when drawn twice; bench/run.py's hook warns instead of failing.

Exits 77 (CTest's SKIP_RETURN_CODE) when matplotlib cannot be imported, by this interpreter or
by Debian's /usr/bin/python3 (where python3-matplotlib lives; the test re-runs itself there).
"""
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
SKIP = 77
SVG = "{http://www.w3.org/2000/svg}"

MACHINE = {"cpu": "Test CPU", "cores": 2, "os": "Linux"}

RESULTS = {
    "e2e": {"target": "e2e", "machine": MACHINE, "speedup2v1": 1.05, "rows": [
        {"ranks": 1, "threadsPerRank": 2, "samplesPerSecTotal": 78475, "samplesPerSecPerRank": 78475},
        {"ranks": 1, "threadsPerRank": 1, "samplesPerSecTotal": 68891, "samplesPerSecPerRank": 68891},
        {"ranks": 2, "threadsPerRank": 1, "samplesPerSecTotal": 82556, "samplesPerSecPerRank": 41278}]},
    "sim": {"target": "sim", "machine": MACHINE, "runs": [
        {"trace": "/x/philly.csv", "cluster": "64x8:H100", "jobs": 100, "gpus": 512,
         "elasticMinFraction": 0, "results": [
             {"policy": "fifo", "avgJctSec": 100.0, "p99JctSec": 1000.0, "avgJctVsFifo": 1.0},
             {"policy": "fairshare+backfill", "avgJctSec": 60.0, "p99JctSec": 960.0,
              "avgJctVsFifo": 0.6}]},
        {"trace": "synthetic:1000", "cluster": "8x8:A100", "jobs": 1000, "gpus": 64,
         "elasticMinFraction": 0.5, "results": [
             {"policy": "fifo", "avgJctSec": 10.0, "p99JctSec": 50.0, "avgJctVsFifo": 1.0},
             {"policy": "fifo+backfill", "avgJctSec": 9.0, "p99JctSec": 55.0,
              "avgJctVsFifo": 0.9}]}]},
    # shoal-kernels-bench's JSON: no "target" key.
    "kernels": {"machine": {"gpu": "Test GPU", "sms": 132, "compute_capability": "9.0"},
                "iters": 15,
                "gemm": [{"op": "gemm", "shape": s, "precision": p, "pct_of_reference": v}
                         for s, vs in (("4096^3", (75.3, 14.7, 12.3)), ("mlp fwd", (99.9, 42.3, 54.8)))
                         for p, v in zip(("fp32", "tf32", "bf16"), vs)],
                "memory": [{"op": "adamw", "pct_of_reference": 94.0},
                           {"op": "softmax_xent", "pct_of_reference": 44.0}]},
    "gpt": {"target": "gpt", "machine": MACHINE, "rows": [
        {"threads": 1, "shoal": 14205, "pytorch": 9440, "ratio": 1.50, "pytorch_version": "torch 1.13"},
        {"threads": 2, "shoal": 16594, "pytorch": 4445, "ratio": 3.73, "pytorch_version": "torch 1.13"}]},
    "gpt-ddp": {"target": "gpt-ddp", "machine": MACHINE, "shoalTokensPerSec": 146579,
                "ddpTokensPerSec": 64492, "ratio": 2.27},
    "ddp": {"target": "ddp", "machine": MACHINE, "anchor": "ddp-blas", "samplesPerSecRatio": 2.18,
            "rows": [{"system": "shoal", "samplesPerSec": 78465, "timeTo085": 1.5},
                     {"system": "ddp", "samplesPerSec": 22126, "timeTo085": None},
                     {"system": "ddp-blas", "samplesPerSec": 35998, "timeTo085": 4.7}],
            "runs": {"shoal": [{"epochs": [{"testAccuracy": 0.84, "secondsSinceStart": 0.8},
                                           {"testAccuracy": 0.86, "secondsSinceStart": 1.5}]}],
                     "ddp": [{"epochs": [{"testAccuracy": 0.83, "secondsSinceStart": 4.0}]}],
                     "ddp-blas": [{"epochs": [{"testAccuracy": 0.85, "secondsSinceStart": 4.7}]}]}},
    "collectives": {"target": "collectives", "machine": MACHINE, "rows": [
        {"bytes": b, "gloo": {"busbwGBs": b / 1e6}, "mpi": {"busbwGBs": b / 5e5}}
        for b in (1024, 1 << 20, 1 << 28)]},
}


def matplotlib_here():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


class PlotsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="shoal-plots-test-")
        self.addCleanup(self.tmp.cleanup)

    def check_svg(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.assertIn(b"<svg", data)
        root = ET.fromstring(data)  # well-formed XML
        self.assertEqual(root.tag, SVG + "svg")
        drawn = [e for e in root.iter() if e.tag in (SVG + "path", SVG + "line")]
        self.assertTrue(drawn, f"{path}: no <path> or <line>")
        self.assertNotIn(b"<dc:date>", data)  # no timestamp: re-runs do not churn
        return data

    def test_every_target_writes_a_deterministic_svg(self):
        import plots
        self.assertEqual(set(RESULTS), set(plots.PLOTTERS))
        for kind, result in RESULTS.items():
            with self.subTest(kind=kind):
                self.assertEqual(plots.kind_of(result), kind)
                a = os.path.join(self.tmp.name, "a", f"{kind}.svg")
                b = os.path.join(self.tmp.name, "b", f"{kind}.svg")
                self.assertEqual(plots.plot(kind, result, a), a)
                plots.plot(kind, result, b)
                self.assertEqual(self.check_svg(a), self.check_svg(b))

    def test_ddp_without_runs_plots_time_to_accuracy_bars(self):
        import plots
        result = dict(RESULTS["ddp"], runs={})
        path = os.path.join(self.tmp.name, "ddp.svg")
        plots.plot("ddp", result, path)
        self.assertIn(b"never", self.check_svg(path))

    def test_from_json_command_line(self):
        import json
        src = os.path.join(self.tmp.name, "kernels.json")
        with open(src, "w") as f:
            json.dump(RESULTS["kernels"], f)
        out = subprocess.run([sys.executable, os.path.join(REPO, "bench", "plots.py"),
                              "--from-json", src], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.check_svg(os.path.join(self.tmp.name, "kernels.svg"))
        other = os.path.join(self.tmp.name, "k.svg")
        out = subprocess.run([sys.executable, os.path.join(REPO, "bench", "plot.py"), "kernels",
                              src, other], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.check_svg(other)

    def test_run_py_hook_warns_instead_of_failing(self):
        import run
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            run.write_chart("gpt-ddp", {"target": "gpt-ddp"}, self.tmp.name)  # fields missing
            run.write_chart("api", {"target": "api"}, self.tmp.name)  # no chart for api
        self.assertIn("warning: no chart for gpt-ddp", err.getvalue())
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "api.svg")))
        with contextlib.redirect_stdout(io.StringIO()):
            run.write_chart("gpt-ddp", RESULTS["gpt-ddp"], self.tmp.name)
        self.check_svg(os.path.join(self.tmp.name, "gpt-ddp.svg"))


if __name__ == "__main__":
    if not matplotlib_here():
        debian = "/usr/bin/python3"
        if (os.environ.get("SHOAL_PLOTS_TEST_REEXEC") != "1" and os.path.exists(debian)
                and os.path.realpath(debian) != os.path.realpath(sys.executable)):
            env = dict(os.environ, SHOAL_PLOTS_TEST_REEXEC="1")
            sys.exit(subprocess.run([debian, os.path.abspath(__file__)] + sys.argv[1:],
                                    env=env).returncode)
        print("SKIP: matplotlib is not importable (apt-get install python3-matplotlib)")
        sys.exit(SKIP)
    unittest.main()
