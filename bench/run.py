#!/usr/bin/env python3
"""shoal's benchmark driver: one driver, one target per area, the same flags everywhere.

  python3 bench/run.py --target e2e [--repeat 3] [--epochs 1] [--out bench/out]

Targets
  ddp   shoal against the anchor users would otherwise pick: the same job (MLP, data, batch size,
        optimizer, 2 ranks, same threads) trained by PyTorch DistributedDataParallel with the
        gloo backend (Debian's python3-torch), interleaved in one run: samples/s and the time to
        reach 0.85 test accuracy, as ratios.
  e2e   End-to-end training throughput of the demo job (configs/jobs/fashion-mnist-mlp.yaml)
        through a real shoal-scheduler and CPU shoal-workers on 127.0.0.1: 1 rank vs 2 ranks,
        measured side by side in one run (interleaved repetitions, medians), as samples/s per
        rank and in total, plus the 2-rank scaling efficiency.

  collectives
        In-place float all-reduce between 2 ranks on this host through shoal's Collective
        implementations (bench/collectives_bench.cc), 1 KiB to 256 MiB: Gloo over TCP loopback
        (FileStore rendezvous) vs MPI under mpirun over TCP loopback (the same transport) and
        MPI over shared memory (vader, what mpirun picks on one host), interleaved sweeps,
        median time per size, algbw and busbw as nccl-tests define them.

  sim   Every scheduling policy replayed by shoal-sim on ../shared/traces: philly.csv on 64x8 and
        80x8 GPUs, alibaba_openb.csv on 6x8 and 8x8 (see bench/README.md for the sizes), plus a
        100k-job synthetic trace for speed; avg JCT as a ratio to fifo's, p99, fairness, and the
        replay's own wall time.
  api   Load on the HTTP API of a real shoal-scheduler (bench/api_bench.cc): durable (committed)
        submissions/s and latency with 1, 16 and 64 clients; heartbeats from 10k workers at 1/s.
  cycle One scheduling cycle (Decide(), as the daemon calls it) against pending jobs (1k, 10k,
        100k) x workers (100, 1k, 2k, 10k): bench/cycle_bench.cc.
  builds
        Two builds of shoal side by side (--before-dir OLD --build-dir NEW), interleaved: the
        demo's samples/s (2 ranks), durable API submissions/s (16 clients), shoal-sim's replay
        time of philly.csv and the largest fairshare+backfill cycle; after/before ratios. For
        changes that must not move performance (a restructuring).

Every target writes <out>/<target>.json and <out>/<target>.md (a Markdown table) and prints the
table. Build first (scripts/build.sh); the driver uses ./build unless --build-dir says otherwise.
"""
import argparse
import json
import os
import platform
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The admin token every bench pool is started with (--admin-token-file) and sends.
BENCH_TOKEN = "shoal_bench_admin_" + secrets.token_hex(24)


def http_json(url, method="GET", body=None, timeout=30):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": "Bearer " + BENCH_TOKEN})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


class LocalPool:
    """A scheduler and N workers on loopback in a temp dir; everything is killed on exit."""

    def __init__(self, build_dir, workers, threads_per_rank):
        self.build = build_dir
        self.dir = tempfile.mkdtemp(prefix="shoal-bench-")
        self.procs = []
        self.n_workers = workers
        self.threads = threads_per_rank

    def __enter__(self):
        sched = os.path.join(self.build, "scheduler", "shoal-scheduler")
        token_file = os.path.join(self.dir, "admin-token")
        with open(token_file, "w") as f:
            f.write(BENCH_TOKEN + "\n")
        self._spawn([sched, "--port", "0", "--state-dir", os.path.join(self.dir, "db"),
                     "--admin-token-file", token_file], "scheduler")
        addr_file = os.path.join(self.dir, "db", "scheduler.addr")
        for _ in range(200):
            if os.path.exists(addr_file) and os.path.getsize(addr_file) > 0:
                break
            time.sleep(0.05)
        self.url = open(addr_file).read().strip()
        worker = os.path.join(self.build, "worker", "shoal-worker")
        for i in range(self.n_workers):
            self._spawn([worker, "--scheduler", self.url, "--name", f"bench-{i}", "--no-gpu",
                         "--threads-per-rank", str(self.threads), "--token-file", token_file,
                         "--work-dir", os.path.join(self.dir, f"w{i}")], f"worker-{i}")
        deadline = time.time() + 30
        while time.time() < deadline:
            alive = [w for w in http_json(self.url + "/v1/workers")["workers"] if w["state"] == "alive"]
            if len(alive) == self.n_workers:
                return self
            time.sleep(0.1)
        raise RuntimeError("workers did not register")

    def _spawn(self, argv, name):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))

    def run_job(self, yaml_text, timeout=1800):
        job = http_json(self.url + "/v1/jobs", "POST", yaml_text)
        t0 = time.time()
        while time.time() - t0 < timeout:
            j = http_json(self.url + f"/v1/jobs/{job['id']}")
            if j["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                j["wallSeconds"] = time.time() - t0
                return j
            time.sleep(0.2)
        raise RuntimeError("job timed out")

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform()}


def target_e2e(args):
    base = open(os.path.join(REPO, "configs/jobs/fashion-mnist-mlp.yaml")).read()
    base = base.replace("epochs: 5", f"epochs: {args.epochs}")
    cores = os.cpu_count() or 2
    # (ranks, threads per rank): 1 rank on all cores, 1 rank on one core (the per-rank compute
    # reference for the all-reduce overhead), and 2 ranks splitting the cores.
    configs = [(1, cores), (1, max(1, cores // 2)), (2, max(1, cores // 2))]
    configs = list(dict.fromkeys(configs))
    runs = {c: [] for c in configs}
    # Interleave the configurations so drift in machine load hits all alike.
    for rep in range(args.repeat):
        for ranks, threads in configs:
            spec = base.replace("workers: {min: 2, max: 2}", f"workers: {{min: {ranks}, max: {ranks}}}")
            with LocalPool(args.build_dir, ranks, threads) as pool:
                job = pool.run_job(spec)
            if job["state"] != "SUCCEEDED":
                raise RuntimeError(f"{ranks}-rank job {job['state']}: {job.get('reason')}")
            res = job["result"]
            runs[(ranks, threads)].append({"samplesPerSec": res["samplesPerSec"],
                                           "wallSeconds": job["wallSeconds"],
                                           "testAccuracy": res["testAccuracy"]})
            print(f"  rep {rep + 1} ranks {ranks} x {threads} threads: {res['samplesPerSec']:.0f} "
                  f"samples/s total, acc {res['testAccuracy']:.4f}, wall {job['wallSeconds']:.1f}s",
                  flush=True)
    rows = []
    for (ranks, threads), rs in runs.items():
        total = statistics.median(r["samplesPerSec"] for r in rs)
        rows.append({"ranks": ranks, "threadsPerRank": threads,
                     "samplesPerSecTotal": total, "samplesPerSecPerRank": total / ranks,
                     "wallSeconds": statistics.median(r["wallSeconds"] for r in rs),
                     "testAccuracy": statistics.median(r["testAccuracy"] for r in rs)})
    one_all = rows[0]["samplesPerSecTotal"]
    one_core = next(r for r in rows if r["ranks"] == 1 and r["threadsPerRank"] == max(1, cores // 2))
    two = next(r for r in rows if r["ranks"] == 2)
    speedup = two["samplesPerSecTotal"] / one_all
    efficiency = two["samplesPerSecPerRank"] / one_core["samplesPerSecTotal"]
    result = {"target": "e2e", "machine": machine(), "epochs": args.epochs, "repeat": args.repeat,
              "rows": rows, "speedup2v1": speedup, "perRankEfficiency": efficiency,
              "runs": {f"{k[0]}x{k[1]}": v for k, v in runs.items()}}
    md = ["| ranks | threads/rank | samples/s total | samples/s per rank | job wall (s) | test acc |",
          "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['ranks']} | {r['threadsPerRank']} | {r['samplesPerSecTotal']:.0f} | "
                  f"{r['samplesPerSecPerRank']:.0f} | {r['wallSeconds']:.1f} | {r['testAccuracy']:.4f} |")
    md.append("")
    md.append(f"2 ranks vs 1 rank on all cores: {speedup:.2f}x total throughput; each of the 2 ranks "
              f"runs at {100 * efficiency:.0f}% of a lone rank with the same threads "
              f"(the rest is all-reduce and contention). {args.epochs} epoch(s), median of "
              f"{args.repeat}, {result['machine']['cores']} cores of {result['machine']['cpu']}.")
    return result, "\n".join(md)


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_to(epochs, target):
    """Seconds until the first epoch whose test accuracy reaches `target` (None if never)."""
    for e in epochs:
        if e["testAccuracy"] >= target:
            return e["secondsSinceStart"]
    return None


def best_blas_coretype():
    """The OPENBLAS_CORETYPE shoal-train picks for this CPU (worker/train/blas_setup.cc)."""
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return "Sandybridge" if "avx" in flags else None


def run_ddp(ranks, threads, epochs, coretype=None):
    """PyTorch DDP; with `coretype`, OpenBLAS gets the kernel choice shoal-train makes itself."""
    py = "/usr/bin/python3"  # Debian's interpreter, where python3-torch lives
    env = dict(os.environ)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    script = os.path.join(REPO, "bench", "ddp_reference.py")
    port = free_port()
    procs = [subprocess.Popen([py, script, "--rank", str(r), "--world", str(ranks), "--port", str(port),
                               "--epochs", str(epochs), "--threads", str(threads)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for r in range(ranks)]
    outs = [p.communicate(timeout=1800) for p in procs]
    for p, (out, err) in zip(procs, outs):
        if p.returncode != 0:
            raise RuntimeError("ddp_reference.py failed: " + err[-2000:])
    return json.loads(outs[0][0].strip().splitlines()[-1])


def run_shoal(build_dir, ranks, threads, epochs):
    spec = open(os.path.join(REPO, "configs/jobs/fashion-mnist-mlp.yaml")).read()
    spec = spec.replace("epochs: 5", f"epochs: {epochs}")
    spec = spec.replace("workers: {min: 2, max: 2}", f"workers: {{min: {ranks}, max: {ranks}}}")
    with LocalPool(build_dir, ranks, threads) as pool:
        t0_ms = time.time() * 1000
        job = pool.run_job(spec)
        points = http_json(pool.url + f"/v1/jobs/{job['id']}/metrics")["points"]
    if job["state"] != "SUCCEEDED":
        raise RuntimeError(f"shoal job {job['state']}: {job.get('reason')}")
    epochs_out = [{"epoch": pt["epoch"], "testAccuracy": pt["testAccuracy"],
                   "secondsSinceStart": (pt["timeMs"] - t0_ms) / 1000}
                  for pt in points if pt.get("epochDone") and "testAccuracy" in pt]
    return {"samplesPerSec": job["result"]["samplesPerSec"], "epochs": epochs_out}


def target_ddp(args):
    """shoal vs PyTorch DDP (gloo) on the same job, rank count and threads, interleaved."""
    cores = os.cpu_count() or 2
    ranks, threads, goal = 2, max(1, cores // 2), 0.85
    # "ddp": PyTorch as installed. "ddp-blas": the same with OPENBLAS_CORETYPE set the way
    # shoal-train sets it for itself, so a BLAS kernel choice is not what the ratio measures.
    coretype = best_blas_coretype()
    systems = ("shoal", "ddp", "ddp-blas") if coretype else ("shoal", "ddp")
    runs = {name: [] for name in systems}
    for rep in range(args.repeat):
        for name in systems:
            r = (run_shoal(args.build_dir, ranks, threads, args.epochs) if name == "shoal"
                 else run_ddp(ranks, threads, args.epochs, coretype if name == "ddp-blas" else None))
            r["timeTo085"] = time_to(r["epochs"], goal)
            runs[name].append(r)
            print(f"  rep {rep + 1} {name}: {r['samplesPerSec']:.0f} samples/s, "
                  f"acc by epoch {[round(e['testAccuracy'], 4) for e in r['epochs']]}, "
                  f"time to {goal}: {r['timeTo085']}", flush=True)

    def med(name, key):
        vals = [r[key] for r in runs[name] if r[key] is not None]
        return statistics.median(vals) if vals else None

    rows = []
    for name in systems:
        rows.append({"system": name, "samplesPerSec": med(name, "samplesPerSec"),
                     "timeTo085": med(name, "timeTo085"),
                     "finalTestAccuracy": statistics.median(r["epochs"][-1]["testAccuracy"] for r in runs[name])})
    # The anchor is the faster DDP variant: shoal must beat DDP at its best.
    anchor = max(rows[1:], key=lambda r: r["samplesPerSec"])
    sps_ratio = rows[0]["samplesPerSec"] / anchor["samplesPerSec"]
    tta_ratio = (anchor["timeTo085"] / rows[0]["timeTo085"]
                 if rows[0]["timeTo085"] and anchor["timeTo085"] else None)
    result = {"target": "ddp", "machine": machine(), "ranks": ranks, "threadsPerRank": threads,
              "epochs": args.epochs, "repeat": args.repeat, "rows": rows,
              "anchor": anchor["system"], "openblasCoretype": coretype,
              "samplesPerSecRatio": sps_ratio, "timeTo085Speedup": tta_ratio, "runs": runs}
    fmt = lambda v, f: "never" if v is None else format(v, f)
    md = ["| system | samples/s (2 ranks) | time to 0.85 test acc (s) | final test acc |",
          "|---|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['system']} | {r['samplesPerSec']:.0f} | {fmt(r['timeTo085'], '.1f')} | "
                  f"{r['finalTestAccuracy']:.4f} |")
    md.append("")
    md.append(f"Anchor: {anchor['system']} (ddp-blas = DDP with OPENBLAS_CORETYPE={coretype}). "
              f"shoal / DDP samples/s: {sps_ratio:.2f}x; DDP / shoal time to 0.85: "
              f"{fmt(tta_ratio, '.2f')}x (higher is better for shoal). {ranks} ranks x {threads} "
              f"thread(s), {args.epochs} epochs, median of {args.repeat}, "
              f"{result['machine']['cores']} cores of {result['machine']['cpu']}.")
    return result, "\n".join(md)


# (name, MPI byte transfer layers or None for Gloo): the transports compared by --target collectives.
COLLECTIVE_VARIANTS = [("gloo", None), ("mpi", "self,tcp"), ("mpi-shm", "self,vader")]


def run_collectives_sweep(exe, variant, btl, budget_mb):
    """One size sweep of shoal-collectives-bench as 2 ranks; returns rank 0's JSON rows."""
    common = ["--budget-mb", str(budget_mb)]
    if btl is None:
        with tempfile.TemporaryDirectory(prefix="shoal-gloo-store-") as store:
            procs = [subprocess.Popen([exe, "--backend", "gloo", "--rank", str(r),
                                       "--world-size", "2", "--store-dir", store] + common,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for r in range(2)]
            try:
                outs = [p.communicate(timeout=600) for p in procs]
            finally:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
            rcs = [p.returncode for p in procs]
    else:
        # Loopback only, runnable as root in containers; pml ob1 so the btl list is what is used.
        argv = [shutil.which("mpirun"), "-np", "2", "--oversubscribe", "--bind-to", "none",
                "--mca", "pml", "ob1", "--mca", "btl", btl, "--mca", "oob_tcp_if_include", "lo"]
        if "tcp" in btl:
            argv += ["--mca", "btl_tcp_if_include", "lo"]
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        p = subprocess.Popen(argv + [exe, "--backend", "mpi"] + common, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            outs = [p.communicate(timeout=600)]
        finally:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        rcs = [p.returncode]
    if any(rcs):
        errs = "".join(o[1] for o in outs)[-2000:]
        raise RuntimeError(f"{variant} sweep failed ({rcs}): {errs}")
    return [json.loads(l) for l in outs[0][0].splitlines() if l.startswith("{")]


def target_collectives(args):
    """Gloo vs MPI all-reduce between 2 local ranks, interleaved sweeps, median per size."""
    exe = os.path.join(args.build_dir, "bench", "shoal-collectives-bench")
    if not os.path.exists(exe):
        raise RuntimeError(f"{exe} is missing: build the shoal-collectives-bench target")
    variants = [(n, b) for n, b in COLLECTIVE_VARIANTS if b is None or shutil.which("mpirun")]
    if len(variants) == 1:
        print("  mpirun not found: Gloo only", flush=True)
    budget_mb = 512  # bytes all-reduced per size and sweep; keeps the target to ~2 minutes
    runs = {n: [] for n, _ in variants}
    for rep in range(args.repeat):
        for name, btl in variants:
            t0 = time.time()
            try:
                runs[name].append(run_collectives_sweep(exe, name, btl, budget_mb))
            except RuntimeError as e:
                if btl is None:
                    raise
                print(f"  {name}: {e}", flush=True)  # e.g. an MPI built without this transport
                continue
            print(f"  rep {rep + 1} {name}: sweep {time.time() - t0:.1f}s", flush=True)
    variants = [(n, b) for n, b in variants if runs[n]]
    sizes = sorted({r["bytes"] for rows in runs["gloo"] for r in rows})
    table = []
    for size in sizes:
        row = {"bytes": size}
        for name, _ in variants:
            times = [r["timeUs"] for rows in runs[name] for r in rows if r["bytes"] == size]
            t = statistics.median(times)
            algbw = size / (t * 1e-6) / 1e9
            row[name] = {"timeUs": t, "algbwGBs": algbw, "busbwGBs": algbw * 2 * (2 - 1) / 2,
                         "iters": next(r["iters"] for rows in runs[name] for r in rows
                                       if r["bytes"] == size)}
        table.append(row)
    result = {"target": "collectives", "machine": machine(), "ranks": 2, "repeat": args.repeat,
              "budgetMB": budget_mb, "variants": {n: b or "gloo tcp" for n, b in variants},
              "rows": table, "runs": runs}

    def size_str(b):
        return f"{b >> 20} MiB" if b >= 1 << 20 else f"{b >> 10} KiB"

    names = [n for n, _ in variants]
    head = "| size | " + " | ".join(f"{n} time (µs) | {n} busbw (GB/s)" for n in names)
    head += "".join(f" | {n} vs gloo" for n in names[1:]) + " |"
    md = [head, "|---:" * (1 + 2 * len(names) + len(names) - 1) + "|"]
    for row in table:
        cells = [size_str(row["bytes"])]
        for n in names:
            cells += [f"{row[n]['timeUs']:.1f}", f"{row[n]['busbwGBs']:.3f}"]
        cells += [f"{row['gloo']['timeUs'] / row[n]['timeUs']:.2f}x" for n in names[1:]]
        md.append("| " + " | ".join(cells) + " |")
    md.append("")
    md.append(f"2 ranks on one host; time is the mean per in-place float all-reduce (averaged "
              f"over both ranks), median of {args.repeat} interleaved sweeps; busbw = algbw x "
              f"2(n-1)/n = algbw for n = 2; \"vs gloo\" > 1 means faster than Gloo. "
              f"{result['machine']['cores']} cores of {result['machine']['cpu']}, "
              f"{result['machine']['os']}.")
    return result, "\n".join(md)


SHARED_TRACES = os.path.normpath(os.path.join(REPO, "..", "shared", "traces"))
SIM_RUNS = [("philly.csv", "64x8:H100"), ("philly.csv", "80x8:H100"),
            ("alibaba_openb.csv", "6x8:A100"), ("alibaba_openb.csv", "8x8:A100")]


def target_sim(args):
    """Every policy on the real traces (and a synthetic 100k-job one, for speed)."""
    exe = os.path.join(args.build_dir, "scheduler", "shoal-sim")
    runs, md = [], []
    cases = [(["--trace", os.path.join(SHARED_TRACES, t)], t, c) for t, c in SIM_RUNS]
    # Elastic gangs: jobs of g >= 2 GPUs may run on g/2..g ranks; 30-minute checkpoints, so each
    # preemption or resize loses 15 minutes of work on average.
    cases.append((["--trace", os.path.join(SHARED_TRACES, "philly.csv"), "--elastic", "0.5",
                   "--checkpoint-interval-s", "1800"], "philly.csv, elastic 0.5, 30-min checkpoints",
                  "64x8:H100"))
    cases.append((["--synthetic", "100000", "--load", "0.9"], "synthetic 100k", "64x8:H100"))
    for argv, name, cluster in cases:
        out = subprocess.run([exe] + argv + ["--cluster", cluster, "-o", "json"], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out)
        runs.append(r)
        fifo = next(x for x in r["results"] if x["policy"] == "fifo")
        md.append(f"\n**{name} on {cluster}** ({r['gpus']} GPUs, {r['jobs']} jobs, maxRuntime = "
                  f"duration x {r['misestimate']}):\n")
        md.append("| policy | avg JCT (h) | vs fifo | p50 (h) | p99 JCT (h) | p99 vs fifo | "
                  "avg queue (h) | GPU util | Jain | preemptions | resizes | replay (s) |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for x in r["results"]:
            md.append(f"| {x['policy']} | {x['avgJctSec'] / 3600:.2f} | {x['avgJctVsFifo']:.2f}x | "
                      f"{x['p50JctSec'] / 3600:.2f} | {x['p99JctSec'] / 3600:.2f} | "
                      f"{x['p99JctSec'] / fifo['p99JctSec']:.2f}x | {x['avgQueueSec'] / 3600:.2f} | "
                      f"{100 * x['gpuUtilization']:.1f}% | {x['jainFairness']:.3f} | "
                      f"{x['preemptions']} | {x.get('resizes', 0)} | {x['wallSec']:.2f} |")
    return {"target": "sim", "machine": machine(), "runs": runs}, "\n".join(md)


def target_cycle(args):
    """One scheduling cycle against pending jobs x workers."""
    exe = os.path.join(args.build_dir, "bench", "shoal-cycle-bench")
    out_json = os.path.join(args.out, "cycle-raw.json")
    table = subprocess.run([exe, "--repeat", str(max(3, args.repeat)), "--out", out_json],
                           check=True, capture_output=True, text=True).stdout
    with open(out_json) as f:
        raw = json.load(f)
    return {"target": "cycle", "machine": machine(), **raw}, table.strip()


def target_api(args):
    """Durable submissions and heartbeats against a real scheduler."""
    exe = os.path.join(args.build_dir, "bench", "shoal-api-bench")
    out_json = os.path.join(args.out, "api-raw.json")
    table = subprocess.run([exe, "--scheduler-bin",
                            os.path.join(args.build_dir, "scheduler", "shoal-scheduler"),
                            "--out", out_json], check=True, capture_output=True, text=True).stdout
    with open(out_json) as f:
        raw = json.load(f)
    return {"target": "api", **raw}, table.strip()


def target_builds(args):
    """Two builds side by side (--before-dir vs --build-dir), interleaved: a restructuring must
    leave the demo's samples/s, API submissions/s, shoal-sim replay time and the scheduling cycle
    as they were."""
    if not args.before_dir:
        raise RuntimeError("--target builds needs --before-dir (the build to compare against)")
    builds = {"before": args.before_dir, "after": args.build_dir}
    spec = open(os.path.join(REPO, "configs/jobs/fashion-mnist-mlp.yaml")).read()
    spec = spec.replace("epochs: 5", f"epochs: {args.epochs}")
    trace = os.path.join(SHARED_TRACES, "philly.csv")
    runs = {b: {"e2eSamplesPerSec": [], "apiAckedPerSec": [], "simReplaySec": [], "cycleMs": []}
            for b in builds}
    for rep in range(args.repeat):
        order = list(builds) if rep % 2 == 0 else list(reversed(builds))
        for b in order:
            d = builds[b]
            r = runs[b]
            with LocalPool(d, 2, 1) as pool:
                job = pool.run_job(spec)
            if job["state"] != "SUCCEEDED":
                raise RuntimeError(f"{b}: demo job {job['state']}: {job.get('reason')}")
            r["e2eSamplesPerSec"].append(job["result"]["samplesPerSec"])
            raw = os.path.join(args.out, f"builds-api-{b}.json")
            subprocess.run([os.path.join(d, "bench", "shoal-api-bench"), "--scheduler-bin",
                            os.path.join(d, "scheduler", "shoal-scheduler"), "--clients", "16",
                            "--workers", "2000", "--duration-sec", "5", "--out", raw],
                           check=True, capture_output=True, text=True)
            with open(raw) as f:
                r["apiAckedPerSec"].append(json.load(f)["submissions"][0]["ackedPerSec"])
            # CPU seconds of the replay (one thread): on a shared machine its wall time is noise.
            t0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([os.path.join(d, "scheduler", "shoal-sim"), "--trace", trace,
                            "--cluster", "64x8:H100", "-o", "json"], check=True,
                           capture_output=True, text=True)
            t1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            r["simReplaySec"].append(t1.ru_utime - t0.ru_utime + t1.ru_stime - t0.ru_stime)
            raw = os.path.join(args.out, f"builds-cycle-{b}.json")
            subprocess.run([os.path.join(d, "bench", "shoal-cycle-bench"), "--repeat", "3",
                            "--out", raw], check=True, capture_output=True, text=True)
            with open(raw) as f:
                rows = json.load(f)["rows"]
            # The largest case of the default policy (fairshare+backfill), the one a busy pool runs.
            big = max((x for x in rows if x["policy"] == "fairshare+backfill"),
                      key=lambda x: (x["pending"], x["workers"]))
            r["cycleMs"].append(big["ms"])
            print(f"  rep {rep + 1} {b}: demo {r['e2eSamplesPerSec'][-1]:.0f} samples/s, api "
                  f"{r['apiAckedPerSec'][-1]:.0f} acked/s, sim {r['simReplaySec'][-1]:.2f} s, "
                  f"cycle {r['cycleMs'][-1]:.2f} ms", flush=True)
    labels = {"e2eSamplesPerSec": "demo training, samples/s (2 ranks x 1 thread, higher is better)",
              "apiAckedPerSec": "shoal-api-bench, durable submissions/s (16 clients, higher is better)",
              "simReplaySec": "shoal-sim replay of philly.csv on 64x8 H100, CPU s (lower is better)",
              "cycleMs": "scheduling cycle, fairshare+backfill, largest case, ms (lower is better)"}
    md = ["| measure | before | after | after / before |", "|---|---:|---:|---:|"]
    medians = {}
    for key, label in labels.items():
        b = statistics.median(runs["before"][key])
        a = statistics.median(runs["after"][key])
        medians[key] = {"before": b, "after": a, "ratio": a / b if b else None}
        md.append(f"| {label} | {b:.2f} | {a:.2f} | {a / b:.3f} |")
    md.append("")
    md.append(f"Median of {args.repeat} interleaved runs each, {machine()['cores']} cores of "
              f"{machine()['cpu']}; before = {args.before_dir}, after = {args.build_dir}.")
    return {"target": "builds", "machine": machine(), "runs": runs, "medians": medians}, "\n".join(md)


TARGETS = {"e2e": target_e2e, "ddp": target_ddp, "collectives": target_collectives,
           "sim": target_sim, "cycle": target_cycle, "api": target_api,
           "builds": target_builds}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=sorted(TARGETS), required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--out", default=os.path.join(REPO, "bench", "out"))
    p.add_argument("--before-dir", help="--target builds: the build to compare --build-dir with")
    args = p.parse_args()
    if args.repeat < 1 or args.epochs < 1:
        p.error("--repeat and --epochs must be >= 1")
    os.makedirs(args.out, exist_ok=True)
    result, table = TARGETS[args.target](args)
    with open(os.path.join(args.out, f"{args.target}.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(args.out, f"{args.target}.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    sys.exit(main())
