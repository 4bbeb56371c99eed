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

  sim   Every scheduling policy replayed by shoal-sim on bench/traces: philly.csv on 64x8 and
        80x8 GPUs, alibaba_openb.csv on 6x8 and 8x8 (see bench/README.md for the sizes), plus a
        100k-job synthetic trace for speed; avg JCT as a ratio to fifo's, p99, fairness, and the
        replay's own wall time.
  api   Load on the HTTP API of a real shoal-scheduler (bench/api_bench.cc): durable (committed)
        submissions/s and latency with 1, 16 and 64 clients; heartbeats from 10k workers at 1/s.
  cycle One scheduling cycle (Decide(), as the daemon calls it) against pending jobs (1k, 10k,
        100k) x workers (100, 1k, 2k, 10k): bench/cycle_bench.cc.
  registry
        `shoal data push` / `pull` of a --registry-bytes (default 2 GiB) random dataset through a
        real shoal-scheduler on loopback, public (plain) and private (AES-256-GCM at rest), against
        curl PUT/GET of the same files to nginx (dav module) on loopback: MB/s each way and the
        shoal/curl ratio, a fresh scheduler per push; then the bytes a re-push sends after 1 % of a
        --registry-repush-bytes (default 1 GiB) dataset was inserted in its middle.
  builds
        Two builds of shoal side by side (--before-dir OLD --build-dir NEW), interleaved: the
        demo's samples/s (2 ranks), durable API submissions/s (16 clients), shoal-sim's replay
        time of philly.csv and the largest fairshare+backfill cycle; after/before ratios. For
        changes that must not move performance (a restructuring).

  gpt-ddp
        The character-level GPT of configs/jobs/gpt-fortunes.yaml on 2 CPU ranks: shoal (a real
        scheduler and 2 workers on loopback) vs PyTorch DDP (bench/gpt_ddp_reference.py) on the
        same token shards, model, batch, schedule and clipping, interleaved: tokens/s, a ratio.

  volatile
        The daemon on a failing pool: the demo MLP on 2 of 4 CPU workers, undisturbed and with
        --kills of its workers SIGKILLed mid-run (back --repair-s later), interleaved: goodput, the
        cost of one failure (redone steps, restart), and the goodput those costs give at a
        24 h MTBF per worker under Young/Daly intervals.

  replay
        shoal-sim against the daemon on the same jobs: --replay-jobs (16) seeded 1- and 2-rank
        tiny-mlp jobs of two accounts through a real scheduler and 2 one-slot CPU workers under
        each of --replay-policies; the pool's own trace (shoal trace) replayed by shoal-sim with
        the same policy: each job's queueing and JCT, replay against daemon.

  dashboard
        The dashboard's queue page with 100k pending jobs in a real scheduler, in headless
        Chromium (bench/dashboard_bench.mjs): the first row drawn, first-contentful-paint, and a
        name filter applied, in ms.

Every target writes <out>/<target>.json and <out>/<target>.md (a Markdown table) and prints the
table; e2e, ddp, collectives, sim, gpt and gpt-ddp also write <out>/<target>.svg, a chart
(bench/plots.py, matplotlib; a missing matplotlib is a warning, not a failure). Build first (scripts/build.sh); the driver uses ./build unless --build-dir says otherwise.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import platform
import random
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The admin token every bench pool is started with (--admin-token-file) and sends.
BENCH_TOKEN = "shoal_bench_admin_" + secrets.token_hex(24)


def http_json(url, method="GET", body=None, timeout=30, token=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": "Bearer " + (token or BENCH_TOKEN)})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


class LocalPool:
    """A scheduler and N workers on loopback in a temp dir; everything is killed on exit."""

    def __init__(self, build_dir, workers, threads_per_rank, scheduler_flags=(), worker_flags=()):
        self.build = build_dir
        self.dir = tempfile.mkdtemp(prefix="shoal-bench-")
        self.procs = []
        self.n_workers = workers
        self.threads = threads_per_rank
        self.scheduler_flags = list(scheduler_flags)
        self.worker_flags = list(worker_flags)

    def __enter__(self):
        sched = os.path.join(self.build, "scheduler", "shoal-scheduler")
        token_file = os.path.join(self.dir, "admin-token")
        with open(token_file, "w") as f:
            f.write(BENCH_TOKEN + "\n")
        self._spawn([sched, "--port", "0", "--state-dir", os.path.join(self.dir, "db"),
                     "--admin-token-file", token_file] + self.scheduler_flags, "scheduler")
        addr_file = os.path.join(self.dir, "db", "scheduler.addr")
        for _ in range(200):
            if os.path.exists(addr_file) and os.path.getsize(addr_file) > 0:
                break
            time.sleep(0.05)
        self.url = open(addr_file).read().strip()
        worker = os.path.join(self.build, "worker", "shoal-worker")
        self.worker_argv = []
        self.worker_procs = []
        for i in range(self.n_workers):
            self.worker_argv.append(
                [worker, "--scheduler", self.url, "--name", f"bench-{i}", "--no-gpu",
                 "--threads-per-rank", str(self.threads), "--token-file", token_file,
                 "--work-dir", os.path.join(self.dir, f"w{i}")] + self.worker_flags)
            self.worker_procs.append(self._spawn(self.worker_argv[i], f"worker-{i}"))
        deadline = time.time() + 30
        while time.time() < deadline:
            alive = [w for w in http_json(self.url + "/v1/workers")["workers"] if w["state"] == "alive"]
            if len(alive) == self.n_workers:
                return self
            time.sleep(0.1)
        raise RuntimeError("workers did not register")

    def _spawn(self, argv, name):
        log = open(os.path.join(self.dir, name + ".log"), "a")
        self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        return self.procs[-1]

    def kill_worker(self, i):
        """SIGKILLs worker i, as a machine that vanishes; its trainers die with it (they ask the
        kernel for SIGKILL when their parent dies)."""
        self.worker_procs[i].kill()
        self.worker_procs[i].wait()

    def restart_worker(self, i):
        """Starts worker i again under its name and work directory, as a machine that came back."""
        self.worker_procs[i] = self._spawn(self.worker_argv[i], f"worker-{i}")

    def create_token(self, account, role="user"):
        """A new account and a token for it, as an admin creates them (docs/api.md)."""
        try:
            http_json(self.url + "/v1/accounts", "POST", json.dumps({"name": account}))
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
        body = json.dumps({"account": account, "role": role, "label": "bench"})
        return http_json(self.url + "/v1/tokens", "POST", body)["token"]

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


TRACES = os.path.join(REPO, "bench", "traces")
SIM_RUNS = [("philly.csv", "64x8:H100"), ("philly.csv", "80x8:H100"),
            ("alibaba_openb.csv", "6x8:A100"), ("alibaba_openb.csv", "8x8:A100")]


def target_sim(args):
    """Every policy on the real traces (and a synthetic 100k-job one, for speed)."""
    exe = os.path.join(args.build_dir, "scheduler", "shoal-sim")
    runs, md = [], []
    cases = [(["--trace", os.path.join(TRACES, t)], t, c) for t, c in SIM_RUNS]
    # Elastic gangs: jobs of g >= 2 GPUs may run on g/2..g ranks; 30-minute checkpoints, so each
    # preemption or resize loses 15 minutes of work on average.
    cases.append((["--trace", os.path.join(TRACES, "philly.csv"), "--elastic", "0.5",
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
        md.append(f"\nNo policy goes below {fifo['noWaitAvgVsFifo']:.2f}x fifo's average and "
                  f"{fifo['noWaitP99VsFifo']:.2f}x its p99 (every job started on arrival and "
                  f"never stopped; docs/simulator.md).")
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
    trace = os.path.join(TRACES, "philly.csv")
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


MB = 1e6  # transfer rates in decimal MB/s, as shoal's CLI and curl print them


def parse_bytes(text):
    """'2GiB', '512MiB', '100MB', '1e9' or a plain count of bytes."""
    m = re.fullmatch(r"\s*([0-9.e+]+)\s*([KMGT]i?B?)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2GiB, 512MiB, 100MB)")
    unit = (m.group(2) or "").upper()
    scale = {"": 1, "B": 1}
    for i, u in enumerate("KMGT", 1):
        scale[u] = scale[u + "B"] = 1000 ** i
        scale[u + "I"] = scale[u + "IB"] = 1024 ** i
    return int(float(m.group(1)) * scale[unit])


def write_random_files(directory, sizes):
    """Incompressible files (os.urandom) named part-0.bin, part-1.bin... under `directory`."""
    os.makedirs(directory, exist_ok=True)
    block = 64 << 20
    for i, size in enumerate(sizes):
        with open(os.path.join(directory, f"part-{i}.bin"), "wb") as f:
            left = size
            while left > 0:
                f.write(os.urandom(min(block, left)))
                left -= block


def tree_files(directory):
    return sorted(os.path.join(d, n) for d, _, names in os.walk(directory) for n in names)


def tree_bytes(directory):
    return sum(os.path.getsize(f) for f in tree_files(directory))


def settle_page_cache(warm, drop):
    """The same starting point before every timed transfer, shoal's or curl's: no dirty pages
    (os.sync, so a previous transfer's writeback does not land in this one), then either the
    files in `warm` read into the page cache, or (drop) every clean page dropped."""
    os.sync()
    if drop:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return
    for path in warm:
        with open(path, "rb") as f:
            while f.read(16 << 20):
                pass


def cpu_seconds(pids):
    """User + system CPU seconds of the processes `pids` so far (/proc/PID/stat)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            pass
    return total


def timed_run(argv, server_pids, env=None):
    """Runs argv to completion: (wall s, its CPU s, the servers' CPU s meanwhile, stdout, stderr)."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = cpu_seconds(server_pids)
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1 = cpu_seconds(server_pids)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}... exited {p.returncode}: {(p.stdout + p.stderr)[-2000:]}")
    client = c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime
    return wall, client, s1 - s0, p.stdout, p.stderr


class Nginx:
    """Debian's nginx-light on loopback as the plain-HTTP anchor: PUT through the dav module
    (the body is spooled to client_body_temp_path, on the same filesystem as the root, and renamed
    into place; no fsync), GET of the same files with sendfile."""

    def __init__(self, workdir):
        self.dir = workdir
        self.root = os.path.join(workdir, "root")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def config(self):
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return f"""{user}daemon off;
worker_processes {os.cpu_count() or 2};
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_max_body_size 0;
    client_body_temp_path {self.dir}/body-temp;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw;
        }}
    }}
}}
"""

    def __enter__(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise RuntimeError("nginx is missing: apt-get install -y nginx-light")
        os.makedirs(self.root, exist_ok=True)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self.config())
        log = open(os.path.join(self.dir, "nginx.out"), "w")
        self.proc = subprocess.Popen([nginx, "-p", self.dir, "-c", conf], stdout=log,
                                     stderr=subprocess.STDOUT)
        import socket
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start: " + open(os.path.join(self.dir, "error.log")).read())

    def pids(self):
        """The master and its worker processes (whose CPU the bench counts)."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                return [self.proc.pid] + [int(x) for x in f.read().split()]
        except OSError:
            return [self.proc.pid]

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def shoal_cli(build_dir, pool, token):
    return [os.path.join(build_dir, "cli", "shoal"), "--scheduler", pool.url, "--token", token]


def shoal_push(build_dir, pool, token, src, name, visibility, json_out=False):
    argv = shoal_cli(build_dir, pool, token) + ["data", "push", src, "--name", name,
                                                  "--" + visibility]
    if json_out:
        argv += ["-o", "json"]
    wall, client, server, out, err = timed_run(argv, [pool.procs[0].pid])
    r = {"seconds": wall, "clientCpu": client, "serverCpu": server}
    if json_out:
        r["reply"] = json.loads(out)
        return r
    # The last progress line: "push: 2147.5 of 2147.5 MB (100%), 301.2 MB/s"; the rate counts from
    # after the first pass over PATH (ScanPath), so bytes / rate is the upload phase.
    rates = re.findall(r"push: ([0-9.]+) of [0-9.]+ MB \(100%\), ([0-9.]+) MB/s", err)
    if rates and float(rates[-1][1]) > 0:
        r["uploadSeconds"] = float(rates[-1][0]) / float(rates[-1][1])
        r["scanSeconds"] = wall - r["uploadSeconds"]
    m = re.search(r"sent ([0-9.]+) MB in ([0-9]+) chunks", out)
    if m:
        r["sentMB"], r["sentChunks"] = float(m.group(1)), int(m.group(2))
    return r


def registry_metric(pool, name):
    req = urllib.request.Request(pool.url + "/metrics", headers={"Authorization": "Bearer " + BENCH_TOKEN})
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read().decode()
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else None


def registry_pool(build_dir, workdir, private):
    flags = []
    if private:
        key = os.path.join(workdir, "master.key")
        with open(key, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        os.chmod(key, 0o600)
        flags = ["--registry-master-key-file", key]
    return LocalPool(build_dir, 0, 1, scheduler_flags=flags)


def registry_shoal_round(args, workdir, src, private, results):
    """Push `src` to a fresh scheduler (every chunk is sent), then pull it back."""
    visibility = "private" if private else "public"
    files = tree_files(src)
    with registry_pool(args.build_dir, workdir, private) as pool:
        token = pool.create_token("bench")
        settle_page_cache(files, args.drop_caches)
        push = shoal_push(args.build_dir, pool, token, src, "ds", visibility)
        # The same push again: everything is stored, so it is one pass of chunking and hashing
        # over PATH plus three small requests.
        settle_page_cache(files, args.drop_caches)
        push["rescanSeconds"] = shoal_push(args.build_dir, pool, token, src, "ds", visibility)["seconds"]
        dest = os.path.join(workdir, "pulled")
        settle_page_cache([], args.drop_caches)  # the chunk store was just written: cached
        wall, client, server, _, _ = timed_run(
            shoal_cli(args.build_dir, pool, token) + ["data", "pull", "ds", dest],
            [pool.procs[0].pid])
        pull = {"seconds": wall, "clientCpu": client, "serverCpu": server}
        if tree_bytes(dest) != tree_bytes(src):
            raise RuntimeError(f"shoal pull wrote {tree_bytes(dest)} bytes, want {tree_bytes(src)}")
        shutil.rmtree(dest)
    results["push"].append(push)
    results["pull"].append(pull)
    return push, pull


def registry_curl_round(args, workdir, src, results):
    """PUT the same files to nginx (4 at once, as shoal's 4 connections), then GET them back."""
    files = tree_files(src)
    with Nginx(os.path.join(workdir, "nginx")) as ng:
        urls = [f"{ng.url}/ds/{os.path.relpath(f, src)}" for f in files]
        argv = ["curl", "-sS", "--fail", "--parallel", "--parallel-max", "4"]
        put = argv[:]
        for f, u in zip(files, urls):
            put += ["-T", f, u]
        settle_page_cache(files, args.drop_caches)
        wall, client, server, _, _ = timed_run(put, ng.pids())
        push = {"seconds": wall, "clientCpu": client, "serverCpu": server}
        # What nginx skips and shoal's chunk store does (WriteFileAtomic fsyncs every chunk),
        # measured apart and not counted in curl's time: fsync of the files just uploaded.
        t0 = time.perf_counter()
        for f in tree_files(os.path.join(ng.root, "ds")):
            fd = os.open(f, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        push["fsyncSeconds"] = time.perf_counter() - t0
        dest = os.path.join(workdir, "pulled")
        get = argv + ["--create-dirs"]
        for f, u in zip(files, urls):
            get += ["-o", os.path.join(dest, os.path.relpath(f, src)), u]
        settle_page_cache(tree_files(ng.root), args.drop_caches)
        wall, client, server, _, _ = timed_run(get, ng.pids())
        pull = {"seconds": wall, "clientCpu": client, "serverCpu": server}
        if tree_bytes(dest) != tree_bytes(src):
            raise RuntimeError(f"curl pulled {tree_bytes(dest)} bytes, want {tree_bytes(src)}")
        shutil.rmtree(dest)
        shutil.rmtree(os.path.join(ng.root, "ds"))
    results["push"].append(push)
    results["pull"].append(pull)
    return push, pull


def registry_repush(args, workdir, private):
    """Push a dataset, insert 1 % of its size as new bytes in its middle, push again: how much the
    second push sends, as the CLI counts it and as the scheduler's metric does."""
    total = args.registry_repush_bytes
    third = total // 3
    v1 = os.path.join(workdir, "repush-v1")
    write_random_files(v1, [third, third, total - 2 * third])
    v2 = os.path.join(workdir, "repush-v2")
    os.makedirs(v2)
    for name in ("part-0.bin", "part-2.bin"):
        os.link(os.path.join(v1, name), os.path.join(v2, name))
    inserted = total // 100
    with open(os.path.join(v1, "part-1.bin"), "rb") as f:
        middle = f.read()
    with open(os.path.join(v2, "part-1.bin"), "wb") as f:  # the middle of the whole stream
        f.write(middle[:len(middle) // 2])
        f.write(os.urandom(inserted))
        f.write(middle[len(middle) // 2:])
    del middle
    visibility = "private" if private else "public"
    with registry_pool(args.build_dir, workdir, private) as pool:
        token = pool.create_token("bench")
        first = shoal_push(args.build_dir, pool, token, v1, "edits", visibility, json_out=True)
        before = registry_metric(pool, "shoal_registry_chunks_uploaded_total")
        second = shoal_push(args.build_dir, pool, token, v2, "edits", visibility, json_out=True)
        after = registry_metric(pool, "shoal_registry_chunks_uploaded_total")
    shutil.rmtree(v1)
    shutil.rmtree(v2)
    rep = second["reply"]
    return {"encryption": private, "datasetBytes": total + inserted, "insertedBytes": inserted,
            "sentBytes": rep["sentBytes"], "sentChunks": rep["sentChunks"], "chunks": rep["chunks"],
            "storedChunks": rep["storedChunks"], "firstPushSentChunks": first["reply"]["sentChunks"],
            "metricChunksUploaded": None if before is None else after - before,
            "sentPercent": 100 * rep["sentBytes"] / (total + inserted),
            "seconds": second["seconds"]}


def reference_rates(workdir):
    """SHA-256 per CPU second (hashlib = OpenSSL, as shoal uses) and write+fsync of 2 MiB files here."""
    data = os.urandom(64 << 20)
    # CPU time, not wall: on a loaded machine the wall clock measures the other processes.
    t0 = time.process_time()
    for _ in range(4):
        hashlib.sha256(data).digest()
    sha = 4 * len(data) / (time.process_time() - t0) / MB
    chunk = data[:2 << 20]
    d = os.path.join(workdir, "fsync")
    os.makedirs(d)
    t0 = time.perf_counter()
    for i in range(64):
        with open(os.path.join(d, str(i)), "wb") as f:
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    fsync = 64 * len(chunk) / (time.perf_counter() - t0) / MB
    shutil.rmtree(d)
    return {"sha256MBps": sha, "writeFsync2MiBMBps": fsync}


def target_registry(args):
    """shoal data push/pull against curl + nginx on loopback, and what a re-push sends."""
    for exe in (os.path.join(args.build_dir, "cli", "shoal"),
                os.path.join(args.build_dir, "scheduler", "shoal-scheduler")):
        if not os.path.exists(exe):
            raise RuntimeError(f"{exe} is missing: build the shoal and shoal-scheduler targets")
    if not shutil.which("curl"):
        raise RuntimeError("curl is missing")
    size = args.registry_bytes
    workdir = tempfile.mkdtemp(prefix="shoal-bench-registry-")
    loads = []
    try:
        src = os.path.join(workdir, "src")
        write_random_files(src, [size // 4] * 3 + [size - 3 * (size // 4)])
        ref = reference_rates(workdir)
        systems = ["curl", "shoal-public", "shoal-private"]
        runs = {s: {"push": [], "pull": []} for s in systems}
        for rep in range(args.repeat):
            # Rotate the order so a drift in the machine's load hits every system alike.
            for name in systems[rep % 3:] + systems[:rep % 3]:
                loads.append(os.getloadavg()[0])
                if name == "curl":
                    push, pull = registry_curl_round(args, workdir, src, runs[name])
                else:
                    push, pull = registry_shoal_round(args, workdir, src, name == "shoal-private",
                                                      runs[name])
                print(f"  rep {rep + 1} {name}: push {size / push['seconds'] / MB:.0f} MB/s "
                      f"({push['seconds']:.1f}s, client CPU {push['clientCpu']:.1f}s, server CPU "
                      f"{push['serverCpu']:.1f}s), pull {size / pull['seconds'] / MB:.0f} MB/s "
                      f"({pull['seconds']:.1f}s, client CPU {pull['clientCpu']:.1f}s, server CPU "
                      f"{pull['serverCpu']:.1f}s), load {loads[-1]:.2f}", flush=True)
        shutil.rmtree(src)
        repush = []
        if args.registry_repush_bytes > 0:
            for private in (False, True):
                loads.append(os.getloadavg()[0])
                r = registry_repush(args, workdir, private)
                repush.append(r)
                print(f"  re-push {'private' if private else 'public'}: sent {r['sentBytes']} of "
                      f"{r['datasetBytes']} bytes ({r['sentPercent']:.2f}%), {r['sentChunks']} of "
                      f"{r['chunks']} chunks", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def med(system, way, key):
        vals = [r[key] for r in runs[system][way] if key in r]
        return statistics.median(vals) if vals else None

    rows = []
    for way in ("push", "pull"):
        curl_s = med("curl", way, "seconds")
        for system in ("shoal-public", "shoal-private"):
            s = med(system, way, "seconds")
            rows.append({"direction": way, "encryption": system == "shoal-private",
                         "shoalMBps": size / s / MB, "curlMBps": size / curl_s / MB,
                         "ratio": curl_s / s, "shoalSeconds": s, "curlSeconds": curl_s,
                         "shoalClientCpu": med(system, way, "clientCpu"),
                         "shoalServerCpu": med(system, way, "serverCpu"),
                         "curlClientCpu": med("curl", way, "clientCpu"),
                         "nginxCpu": med("curl", way, "serverCpu")})
    phases = {s: {k: med(s, "push", k) for k in ("seconds", "scanSeconds", "uploadSeconds",
                                                 "rescanSeconds", "clientCpu", "serverCpu")}
              for s in ("shoal-public", "shoal-private")}
    result = {"target": "registry", "machine": machine(), "bytes": size, "repeat": args.repeat,
              "dropCaches": args.drop_caches, "loadAvg1m": loads, "rows": rows, "pushPhases": phases,
              "curlFsyncSeconds": med("curl", "push", "fsyncSeconds"), "reference": ref,
              "repush": repush, "runs": runs}
    md = ["| direction | encryption | shoal MB/s | curl+nginx MB/s | shoal / curl | shoal CPU s "
          "(client + scheduler) | curl CPU s (curl + nginx) |",
          "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['direction']} | {'on (private)' if r['encryption'] else 'off (public)'} | "
                  f"{r['shoalMBps']:.0f} | {r['curlMBps']:.0f} | {r['ratio']:.2f}x | "
                  f"{r['shoalClientCpu']:.1f} + {r['shoalServerCpu']:.1f} | "
                  f"{r['curlClientCpu']:.1f} + {r['nginxCpu']:.1f} |")
    md.append("")
    md.append("| push phases (s) | whole push | first pass (chunk + hash) | upload pass | "
              "a re-push of the same tree (one pass) |")
    md.append("|---|---:|---:|---:|---:|")
    for s, ph in phases.items():
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        md.append(f"| {s} | {fmt(ph['seconds'])} | {fmt(ph['scanSeconds'])} | "
                  f"{fmt(ph['uploadSeconds'])} | {fmt(ph['rescanSeconds'])} |")
    md.append("")
    md.append(f"Reference on this machine: SHA-256 {ref['sha256MBps']:.0f} MB per CPU second; write + "
              f"fsync of 2 MiB files {ref['writeFsync2MiBMBps']:.0f} MB/s; fsync of curl's uploaded "
              f"files afterwards (nginx does not) {result['curlFsyncSeconds']:.2f} s.")
    if repush:
        md.append("")
        md.append("| re-push, 1 % inserted mid-stream | dataset MB | inserted MB | sent MB | sent % "
                  "| chunks sent / in version | scheduler: chunks uploaded |")
        md.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in repush:
            md.append(f"| {'private' if r['encryption'] else 'public'} | {r['datasetBytes'] / MB:.1f} | "
                      f"{r['insertedBytes'] / MB:.1f} | {r['sentBytes'] / MB:.1f} | "
                      f"{r['sentPercent']:.2f}% | {r['sentChunks']} / {r['chunks']} | "
                      f"{r['metricChunksUploaded']:.0f} |")
    md.append("")
    md.append(f"{size / MB:.0f} MB of random bytes in 4 files over loopback, median of {args.repeat} "
              f"interleaved repetitions; MB = 10^6 bytes; page cache "
              f"{'dropped' if args.drop_caches else 'warm (sources read first)'} before every "
              f"transfer, after a sync. 1-minute load average during the runs "
              f"{min(loads):.2f}-{max(loads):.2f}; {result['machine']['cores']} cores of "
              f"{result['machine']['cpu']}.")
    return result, "\n".join(md)


def target_gpt(args):
    """One rank's GPT training step on the CPU: shoal-gpt-bench vs bench/gpt_reference.py
    (PyTorch, Debian's python3-torch) on the same model, batch and thread count, interleaved."""
    exe = os.path.join(args.build_dir, "bench", "shoal-gpt-bench")
    ref = os.path.join(REPO, "bench", "gpt_reference.py")
    shape = ["--vocab", "256", "--context", "128", "--layers", "4", "--heads", "4",
             "--embed", "128", "--batch", "8", "--iters", "10", "--warmup", "2"]
    runs = {}
    for threads in (1, 2):
        for rep in range(args.repeat):
            order = [("shoal", [exe]), ("pytorch", ["/usr/bin/python3", ref])]
            if rep % 2:
                order.reverse()
            for name, cmd in order:
                out = subprocess.run(cmd + shape + ["--threads", str(threads)], check=True,
                                     capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                runs.setdefault((name, threads), []).append(r)
                print(f"  threads {threads} rep {rep + 1} {name}: {r['tokens_per_sec']:.0f} "
                      f"tokens/s ({r['median_ms']:.1f} ms/step)", file=sys.stderr)
    md = ["| threads | shoal tokens/s | PyTorch tokens/s | shoal / PyTorch | shoal ms/step | "
          "PyTorch ms/step |", "|---:|---:|---:|---:|---:|---:|"]
    result = {"target": "gpt", "machine": machine(), "shape": shape, "rows": []}
    for threads in (1, 2):
        s = sorted(r["tokens_per_sec"] for r in runs[("shoal", threads)])
        p = sorted(r["tokens_per_sec"] for r in runs[("pytorch", threads)])
        s_med, p_med = s[len(s) // 2], p[len(p) // 2]
        result["rows"].append({"threads": threads, "shoal": s_med, "pytorch": p_med,
                               "ratio": s_med / p_med,
                               "pytorch_version": runs[("pytorch", threads)][0]["impl"]})
        md.append(f"| {threads} | {s_med:.0f} | {p_med:.0f} | **{s_med / p_med:.2f}x** | "
                  f"{8 * 128 / s_med * 1000:.1f} | {8 * 128 / p_med * 1000:.1f} |")
    md.append("")
    md.append(f"GPT V=256, T=128, 4 layers, 4 heads, C=128 (0.8M parameters), batch 8 x 128 "
              f"tokens, one process, forward + backward + AdamW; median of {args.repeat} runs of "
              f"10 steps each; {runs[('pytorch', 1)][0]['impl']}; "
              f"{result['machine']['cores']} cores of {result['machine']['cpu']}.")
    return result, "\n".join(md)


def target_gpt_ddp(args):
    """The character-level GPT of configs/jobs/gpt-fortunes.yaml on 2 CPU ranks: shoal (a real
    scheduler and 2 workers on loopback, Gloo) vs PyTorch DDP (gloo, bench/gpt_ddp_reference.py)
    on the same token shards, model, batch, schedule and clipping, interleaved; tokens/s."""
    data = tempfile.mkdtemp(prefix="shoal-bench-gpt-")
    fortunes = [os.path.join("/usr/share/games/fortunes", n) for n in
                ("art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs",
                 "education")]
    subprocess.run([os.path.join(args.build_dir, "cli", "shoal"), "tokenize", *fortunes,
                    "--tokenizer", "bytes", "--out", data], check=True, capture_output=True)
    spec = open(os.path.join(REPO, "configs/jobs/gpt-fortunes.yaml")).read()
    spec = spec.replace("shoal://datasets/demo/fortunes-bytes/train", os.path.join(data, "train"))
    spec = spec.replace("shoal://datasets/demo/fortunes-bytes/val", os.path.join(data, "val"))
    spec = spec.replace("epochs: 3", f"epochs: {args.epochs}")
    spec = spec.split("\n  output:")[0] + "\n"  # nothing to publish
    runs = {"shoal": [], "ddp": []}
    try:
        for rep in range(args.repeat):
            order = ["shoal", "ddp"] if rep % 2 == 0 else ["ddp", "shoal"]
            for name in order:
                if name == "shoal":
                    with LocalPool(args.build_dir, 2, 1, worker_flags=["--data-root", data]) as pool:
                        job = pool.run_job(spec)
                    if job["state"] != "SUCCEEDED":
                        raise RuntimeError(f"shoal job {job['state']}: {job.get('reason')}")
                    r = {"tokensPerSec": job["result"]["samplesPerSec"] * 64,
                         "testLoss": job["result"].get("testLoss")}
                else:
                    port = free_port()
                    script = os.path.join(REPO, "bench", "gpt_ddp_reference.py")
                    procs = [subprocess.Popen(["/usr/bin/python3", script, "--rank", str(k),
                                               "--world", "2", "--port", str(port), "--train",
                                               os.path.join(data, "train_000000.bin"),
                                               "--epochs", str(args.epochs), "--threads", "1"],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True) for k in range(2)]
                    outs = [p.communicate(timeout=1800) for p in procs]
                    for p, (_, err) in zip(procs, outs):
                        if p.returncode != 0:
                            raise RuntimeError("gpt_ddp_reference.py failed: " + err[-2000:])
                    r = json.loads(outs[0][0].strip().splitlines()[-1])
                runs[name].append(r)
                print(f"  rep {rep + 1} {name}: {r['tokensPerSec']:.0f} tokens/s", file=sys.stderr)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    s_med = statistics.median(r["tokensPerSec"] for r in runs["shoal"])
    d_med = statistics.median(r["tokensPerSec"] for r in runs["ddp"])
    result = {"target": "gpt-ddp", "machine": machine(), "epochs": args.epochs,
              "repeat": args.repeat, "shoalTokensPerSec": s_med, "ddpTokensPerSec": d_med,
              "ratio": s_med / d_med, "runs": runs}
    md = ["| system | tokens/s (2 ranks x 1 thread) |", "|---|---:|",
          f"| shoal (scheduler + 2 workers, Gloo) | {s_med:.0f} |",
          f"| PyTorch {runs['ddp'][0]['impl']} | {d_med:.0f} |", "",
          f"shoal / DDP: **{s_med / d_med:.2f}x**. configs/jobs/gpt-fortunes.yaml (2 blocks, C=64, "
          f"T=64, V=256; batch 16 windows per rank, warm-up + cosine, clip 1.0), {args.epochs} "
          f"epoch(s) of Debian's fortunes as bytes, training steps only (evaluation untimed); "
          f"median of {args.repeat}, interleaved; {result['machine']['cores']} cores of "
          f"{result['machine']['cpu']}."]
    return result, "\n".join(md)


def target_dashboard(args):
    """The dashboard's queue page with 100k jobs in a real scheduler, in headless Chromium:
    bench/dashboard_bench.mjs (first row drawn, first-contentful-paint, a filter change)."""
    script = os.path.join(REPO, "bench", "dashboard_bench.mjs")
    out = subprocess.run(["node", script, "--build", os.path.abspath(args.build_dir), "--jobs",
                          str(args.dashboard_jobs), "--repeat", str(args.repeat)],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    result = {"target": "dashboard", "machine": machine(), **r}
    fmt = lambda v: ", ".join(f"{x:.0f}" for x in v)
    md = ["| measure (ms) | median | runs |", "|---|---:|---|",
          f"| first row of the queue drawn (from navigation start) | {r['medianFirstPaintMs']:.0f} | "
          f"{fmt(r['firstPaintMs'])} |",
          f"| first-contentful-paint | {r['medianFcpMs']:.0f} | {fmt(r['firstContentfulPaintMs'])} |",
          f"| a name filter applied (click to filtered rows) | {r['medianFilterMs']:.0f} | "
          f"{fmt(r['filterMs'])} |", "",
          f"{r['jobs']} pending jobs submitted through the API ({r['submitPerSec']:.0f} jobs/s, "
          f"64 in flight); one queue page of the API is {r['queuePageBytes']} bytes; "
          f"{r['chromium']} headless, 1280x900; {result['machine']['cores']} cores of "
          f"{result['machine']['cpu']}; the scheduler and Chromium share them."]
    return result, "\n".join(md)


def young_daly_s(write_s, mtbf_s):
    """The daemon's interval (scheduler/young_daly): sqrt(2 C M), within 1 minute .. 1 day."""
    return min(86400.0, max(60.0, math.sqrt(2 * write_s * mtbf_s)))


def run_with_kills(pool, spec, kills, rng, gap_s, repair_s):
    """Runs one job on `pool`, SIGKILLing a worker that holds one of its ranks `kills` times, each
    a uniform 0.5..1.5 x gap_s after its attempt's first progress report; a killed worker comes
    back after repair_s. Returns the finished job, its wall time and when each kill happened."""
    job_id = http_json(pool.url + "/v1/jobs", "POST", spec)["id"]
    t0 = time.time()
    killed, back_at, kill_at, armed_attempt = [], {}, None, 0
    while time.time() - t0 < 3600:
        job = http_json(pool.url + f"/v1/jobs/{job_id}")
        now = time.time()
        for i, at in list(back_at.items()):
            if now >= at:
                pool.restart_worker(i)
                del back_at[i]
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            job["wallSeconds"] = now - t0
            return job, killed
        reporting = job["state"] == "RUNNING" and \
            (job.get("progress") or {}).get("attempt") == job["attempts"]
        if len(killed) < kills and reporting and job["attempts"] > armed_attempt:
            armed_attempt = job["attempts"]
            kill_at = now + rng.uniform(0.5 * gap_s, 1.5 * gap_s)
        if kill_at is not None and now >= kill_at:
            kill_at = None
            if job["state"] == "RUNNING" and job["attempts"] == armed_attempt:
                names = {w["id"]: w["name"] for w in http_json(pool.url + "/v1/workers")["workers"]}
                victim = int(names[rng.choice(job["placement"])].split("-")[1])
                pool.kill_worker(victim)
                killed.append({"atSec": now - t0, "attempt": armed_attempt,
                               "worker": f"bench-{victim}", "timeMs": int(now * 1000)})
                back_at[victim] = now + repair_s
        time.sleep(0.1)
    raise RuntimeError("job timed out")


def failure_costs(pool, job, killed, steady_steps_per_s):
    """Per kill, from rank 0's progress reports and the trainers' "resumed from" log lines: the
    work lost (from the step the next attempt resumed at to the step the killed one had reached
    at the kill, extrapolated from its last report at the steady rate), and the restart (from
    the kill to the moment the next attempt's training began: its first report's time less the
    steps it had done by then)."""
    points = http_json(pool.url + f"/v1/jobs/{job['id']}/metrics")["points"]
    lines = http_json(pool.url + f"/v1/jobs/{job['id']}/logs?limit=10000")["lines"]
    resumed = {}
    for line in lines:
        m = re.search(r"resumed from .*: step (\d+)", line["line"])
        if m and line["rank"] == 0:
            resumed[line["attempt"]] = int(m.group(1))
    out = []
    for k in killed:
        before = [p for p in points if p.get("attempt") == k["attempt"] and "step" in p]
        nxt = k["attempt"] + 1
        after = [p for p in points if p.get("attempt") == nxt and "step" in p]
        if not before or not after:
            continue
        last = max(before, key=lambda p: p["timeMs"])
        reached = last["step"] + steady_steps_per_s * (k["timeMs"] - last["timeMs"]) / 1000.0
        start = resumed.get(nxt, 0)
        first = min(after, key=lambda p: p["timeMs"])
        trained_s = (first["step"] - start) / steady_steps_per_s
        out.append({"redoneSec": max(0.0, reached - start) / steady_steps_per_s,
                    "restartSec": (first["timeMs"] - k["timeMs"]) / 1000.0 - trained_s})
    return out


def target_volatile(args):
    """The daemon on a failing pool (issue 19 item 7): the demo MLP on 2 of 4 CPU workers, once
    undisturbed and once with --kills of its workers SIGKILLed mid-run (the machine vanishes;
    it comes back --repair-s later: 20 s by default, after the scheduler's 15 s worker timeout),
    interleaved, with the scheduler's default settings. Goodput = steady wall time / failing wall time; the
    cost of one failure, split into redone work and restart; and what those costs give at a
    24 h MTBF per worker under the daemon's Young/Daly interval."""
    base = open(os.path.join(REPO, "configs/jobs/fashion-mnist-mlp.yaml")).read()
    spec = base
    for old, new in (("epochs: 5", f"epochs: {args.epochs}"),
                     ("checkpoint: {everySeconds: 60, keep: 2}",
                      f"checkpoint: {{everySeconds: {args.checkpoint_s}, keep: 2}}"),
                     ("limits: {maxRuntime: 1h, maxRetries: 3}",
                      f"limits: {{maxRuntime: 2h, maxRetries: {args.kills + 3}}}")):
        if old not in spec:
            raise RuntimeError(f"configs/jobs/fashion-mnist-mlp.yaml no longer holds {old!r}")
        spec = spec.replace(old, new)
    rng = random.Random(1)
    runs = {"steady": [], "failing": []}
    costs, writes = [], []
    for rep in range(args.repeat):
        steady_rate = None
        for mode in ("steady", "failing"):
            with LocalPool(args.build_dir, 4, 1) as pool:
                kills = args.kills if mode == "failing" else 0
                gap = (runs["steady"][-1]["wallSeconds"] / (args.kills + 1)) if runs["steady"] else 30
                job, killed = run_with_kills(pool, spec, kills, rng, gap, args.repair_s)
                if job["state"] != "SUCCEEDED":
                    raise RuntimeError(f"{mode} job {job['state']}: {job.get('reason')}")
                res = job["result"]
                for a in job.get("attemptHistory", []):
                    if a.get("checkpointWriteSeconds"):
                        writes.append(a["checkpointWriteSeconds"])
                row = {"wallSeconds": job["wallSeconds"], "attempts": job["attempts"],
                       "kills": len(killed), "testAccuracy": res["testAccuracy"],
                       "steps": res.get("steps")}
                if mode == "steady":
                    points = http_json(pool.url + f"/v1/jobs/{job['id']}/metrics")["points"]
                    steps = [p for p in points if "step" in p]
                    span = (steps[-1]["timeMs"] - steps[0]["timeMs"]) / 1000.0
                    steady_rate = (steps[-1]["step"] - steps[0]["step"]) / span
                    row["stepsPerSec"] = steady_rate
                else:
                    row["failures"] = failure_costs(pool, job, killed, steady_rate)
                    costs.extend(row["failures"])
                runs[mode].append(row)
                print(f"  rep {rep + 1} {mode}: {row['wallSeconds']:.1f} s, {row['attempts']} "
                      f"attempts, {row['kills']} kills, acc {row['testAccuracy']:.4f}", flush=True)
    steady = statistics.median(r["wallSeconds"] for r in runs["steady"])
    failing = statistics.median(r["wallSeconds"] for r in runs["failing"])
    kills = statistics.median(r["kills"] for r in runs["failing"])
    per_failure = (failing - steady) / max(1, kills)
    if not costs:
        raise RuntimeError("no kill was followed by a resumed attempt's report")
    redone = statistics.mean(c["redoneSec"] for c in costs)
    restart = statistics.mean(c["restartSec"] for c in costs)
    write_s = statistics.median(writes) if writes else 0.0
    # At a 24 h MTBF per worker, a gang of n ranks fails every M/n: Young/Daly's interval tau,
    # each failure costs the restart plus tau/2 redone on average, each checkpoint its write.
    projected = []
    for n in (2, 8, 32, 64, 128):
        m = 86400.0 / n
        tau = young_daly_s(write_s, m)
        waste = write_s / (tau + write_s) + (restart + tau / 2) / m
        projected.append({"ranks": n, "intervalSec": tau, "goodput": max(0.0, 1 - waste)})
    result = {"target": "volatile", "machine": machine(), "epochs": args.epochs,
              "repeat": args.repeat, "checkpointEverySeconds": args.checkpoint_s,
              "repairSec": args.repair_s,
              "steadySec": steady, "failingSec": failing, "kills": kills,
              "goodput": steady / failing, "perFailureSec": per_failure,
              "redoneSecMean": redone, "restartSecMean": restart,
              "checkpointWriteSec": write_s, "projected24h": projected, "runs": runs}
    md = ["| run | wall (s), median | attempts | test acc |", "|---|---:|---:|---:|"]
    for mode in ("steady", "failing"):
        rs = runs[mode]
        md.append(f"| {mode} ({kills if mode == 'failing' else 0} kills) | "
                  f"{statistics.median(r['wallSeconds'] for r in rs):.1f} | "
                  f"{statistics.median(r['attempts'] for r in rs):.0f} | "
                  f"{statistics.median(r['testAccuracy'] for r in rs):.4f} |")
    md.append("")
    md.append(f"Goodput {100 * steady / failing:.1f} % with {kills:.0f} worker kills in a "
              f"{steady:.0f} s job (checkpoints every {args.checkpoint_s} s, a killed worker back "
              f"after {args.repair_s:g} s): "
              f"{per_failure:.1f} s per failure: on average {redone:.1f} s of work lost (redone) "
              f"and {restart:.1f} s from the kill until the next attempt trains (detection, "
              f"placement, start-up, restore); checkpoint write "
              f"{1000 * write_s:.0f} ms. Median of {args.repeat}, interleaved.")
    md.append("")
    md.append("Projected at a 24 h MTBF per worker with Young/Daly intervals and these costs:")
    md.append("")
    md.append("| ranks | job MTBF (h) | interval (s) | goodput |")
    md.append("|---:|---:|---:|---:|")
    for p in projected:
        md.append(f"| {p['ranks']} | {24 / p['ranks']:.2f} | {p['intervalSec']:.0f} | "
                  f"{100 * p['goodput']:.1f} % |")
    return result, "\n".join(md)


def target_audits(args):
    """shoal-audit-bench (docs/audits.md): steps to the dispute per fault mode over seeded 4-rank
    trials at the initial and the floor rate, false accusations over honest runs, and the step
    time with audits against none on the bench MLP (64 rows) and the demo's char-level GPT."""
    exe = os.path.join(args.build_dir, "bench", "shoal-audit-bench")

    def bench(*argv):
        out = subprocess.run([exe, *argv], check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    trials = max(1, args.audit_trials)
    modes = ["zero", "stale", "noise:0.001", "noise:0.00001", "scale:1.5", "scale:1.01",
             "skip:0.1", "evade"]
    detect = [bench("--detect", m, "--trials", str(trials), "--rate", str(rate),
                    "--max-steps", "300") for rate in (0.1, 0.02) for m in modes]
    honest = bench("--detect", "none", "--trials", str(trials), "--rate", "0.3",
                   "--max-steps", "100")
    overhead = []
    for model, steps in (("mlp", 500), ("gpt", 300)):
        for rate in (0, 0.02, 0.1):
            row = bench("--overhead", "--model", model, "--rate", str(rate), "--max-steps",
                        str(steps), "--repeats", str(max(3, args.repeat)))
            overhead.append({"model": model, **row})
    md = ["| fault | rate | caught | steps to the dispute: median / p90 / max |",
          "|---|---|---|---|"]
    for d in detect:
        md.append(f"| {d['mode']} | {d['rate']} | {d['caught']} of {d['trials']} | "
                  f"{d['stepsMedian']:.0f} / {d['stepsP90']:.0f} / {d['stepsMax']:.0f} |")
    md.append(f"\nHonest: {honest['falseAccusations']} false accusations in "
              f"{honest['honestSteps']} steps (rate 0.3).\n")
    md += ["| model | rate | step off (ms) | step on (ms) | ratio | recomputations per step |",
           "|---|---|---|---|---|---|"]
    for o in overhead:
        md.append(f"| {o['model']} | {o['rate']} | {o['stepSecOff'] * 1e3:.2f} | "
                  f"{o['stepSecOn'] * 1e3:.2f} | **{o['ratio']:.3f}x** | "
                  f"{o['recomputationsPerStep']:.3f} |")
    return ({"target": "audits", "machine": machine(), "detect": detect, "honest": honest,
             "overhead": overhead}, "\n".join(md))


def replay_pool_run(args, policy, jobs):
    """Runs `jobs` (submit offset s, account, ranks, epochs, limit) through a real scheduler with
    `policy` and 2 one-slot CPU workers; returns the pool's trace CSV (shoal trace)."""
    base = open(os.path.join(REPO, "configs/jobs/tiny-mlp.yaml")).read()
    for old in ("workers: {min: 1, max: 1}", "epochs: 1", "maxRuntime: 10m"):
        if old not in base:
            raise RuntimeError(f"configs/jobs/tiny-mlp.yaml no longer holds {old!r}")
    with LocalPool(args.build_dir, 2, 1, scheduler_flags=["--policy", policy],
                   worker_flags=["--slots", "1"]) as pool:
        tokens = {a: pool.create_token(a) for a in sorted({j[1] for j in jobs})}
        t0 = time.time()
        ids = []
        for offset, account, ranks, epochs, limit_s in jobs:
            time.sleep(max(0.0, t0 + offset - time.time()))
            spec = (base.replace("workers: {min: 1, max: 1}", f"workers: {{min: {ranks}, max: {ranks}}}")
                    .replace("epochs: 1", f"epochs: {epochs}")
                    .replace("maxRuntime: 10m", f"maxRuntime: {limit_s}s"))
            ids.append(http_json(pool.url + "/v1/jobs", "POST", spec, token=tokens[account])["id"])
        deadline = time.time() + 1800
        while time.time() < deadline:
            states = [http_json(pool.url + f"/v1/jobs/{i}")["state"] for i in ids]
            if all(st in ("SUCCEEDED", "FAILED", "CANCELLED") for st in states):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("the replay bench's jobs did not finish")
        if any(st != "SUCCEEDED" for st in states):
            raise RuntimeError(f"replay bench: jobs ended {states}")
        out = os.path.join(pool.dir, "pool.csv")
        subprocess.run([os.path.join(args.build_dir, "cli", "shoal"), "--scheduler", pool.url,
                        "--token", BENCH_TOKEN, "trace", "-O", out], check=True,
                       capture_output=True)
        return open(out).read()


def target_replay(args):
    """shoal-sim against the daemon on the same jobs: a seeded mix of 1- and 2-rank tiny-mlp jobs
    of two accounts arrives faster than 2 one-slot CPU workers run them, under each policy; the
    pool's own trace (shoal trace) is replayed by shoal-sim with the same policy on 2x1, and each
    job's queueing and JCT in the replay are compared with what the daemon gave it."""
    rng = random.Random(7)
    jobs, t = [], 0.0
    for _ in range(args.replay_jobs):
        jobs.append((round(t, 2), rng.choice(["alice", "bob"]), rng.choice([1, 1, 2]),
                     rng.choice([20, 40, 80]), rng.choice([60, 120, 300])))
        t += rng.expovariate(1 / 5.0)
    sim = os.path.join(args.build_dir, "scheduler", "shoal-sim")
    rows, md = [], []
    md.append("| policy | jobs | daemon avg JCT (s) | replay avg JCT (s) | replay / daemon | "
              "daemon avg queue (s) | replay avg queue (s) | per-job JCT error: median, max (s) | "
              "start order agreeing |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for policy in args.replay_policies.split(","):
        csv_text = replay_pool_run(args, policy, jobs)
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "pool.csv")
            jobs_out = os.path.join(tmp, "replay.csv")
            open(trace, "w").write(csv_text)
            subprocess.run([sim, "--trace", trace, "--cluster", "2x1", "--policy", policy,
                            "--restart-delay-s", "0", "--jobs-out", jobs_out], check=True,
                           capture_output=True)
            real = {r["job_id"]: r for r in csv_dict(trace)}
            replay = {r["job"]: r for r in csv_dict(jobs_out)}
        per = []
        for jid, r in real.items():
            p = replay[jid]
            sub = int(p["submit_s"])
            per.append({"job": jid, "daemonQueue": int(r["queue_s"]), "daemonJct": int(r["jct_s"]),
                        "replayQueue": int(p["start_s"]) - sub, "replayJct": int(p["end_s"]) - sub,
                        "daemonStart": int(r["submit_time_s"]) + int(r["queue_s"]),
                        "replayStart": int(p["start_s"])})
        errors = sorted(abs(x["replayJct"] - x["daemonJct"]) for x in per)
        pairs = agree = 0
        for i in range(len(per)):
            for k in range(i + 1, len(per)):
                a, b = per[i], per[k]
                d = a["daemonStart"] - b["daemonStart"]
                e = a["replayStart"] - b["replayStart"]
                if d == 0 or e == 0:
                    continue
                pairs += 1
                agree += (d > 0) == (e > 0)
        row = {"policy": policy, "jobs": len(per),
               "daemonAvgJct": statistics.mean(x["daemonJct"] for x in per),
               "replayAvgJct": statistics.mean(x["replayJct"] for x in per),
               "daemonAvgQueue": statistics.mean(x["daemonQueue"] for x in per),
               "replayAvgQueue": statistics.mean(x["replayQueue"] for x in per),
               "medianJctError": statistics.median(errors), "maxJctError": errors[-1],
               "startOrderAgreement": agree / pairs if pairs else 1.0, "perJob": per}
        rows.append(row)
        md.append(f"| {policy} | {row['jobs']} | {row['daemonAvgJct']:.1f} | "
                  f"{row['replayAvgJct']:.1f} | {row['replayAvgJct'] / row['daemonAvgJct']:.3f} | "
                  f"{row['daemonAvgQueue']:.1f} | {row['replayAvgQueue']:.1f} | "
                  f"{row['medianJctError']:.0f}, {row['maxJctError']:.0f} | "
                  f"{100 * row['startOrderAgreement']:.0f} % |")
    return {"target": "replay", "machine": machine(), "runs": rows}, "\n".join(md)


def csv_dict(path):
    """The rows of a CSV file as dicts by header."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


TARGETS = {"audits": target_audits, "e2e": target_e2e, "ddp": target_ddp,
           "collectives": target_collectives, "sim": target_sim, "cycle": target_cycle, "api": target_api,
           "builds": target_builds, "registry": target_registry, "gpt": target_gpt,
           "gpt-ddp": target_gpt_ddp, "dashboard": target_dashboard,
           "volatile": target_volatile, "replay": target_replay}


def write_chart(target, result, out_dir):
    """<out>/<target>.svg next to the table (bench/plots.py), for the targets that have a chart.
    Never fails the benchmark: without matplotlib in this interpreter it tries Debian's
    /usr/bin/python3 (where python3-matplotlib lives), else it prints a warning."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import plots
        if target not in plots.PLOTTERS:
            return
        svg = os.path.join(out_dir, f"{target}.svg")
        if os.path.exists(svg):
            os.remove(svg)  # a failed chart must not leave the previous run's next to new numbers
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            debian = "/usr/bin/python3"
            if not os.path.exists(debian) or os.path.realpath(debian) == os.path.realpath(sys.executable):
                raise
            subprocess.run([debian, os.path.join(REPO, "bench", "plots.py"), "--from-json",
                            os.path.join(out_dir, f"{target}.json"), "--kind", target, "-o", svg],
                           check=True, capture_output=True, text=True, timeout=300)
        else:
            plots.plot(target, result, svg)
        print(f"chart: {svg}")
    except Exception as e:  # noqa: BLE001 (a chart is a nicety; the numbers are written)
        detail = getattr(e, "stderr", None) or e
        lines = str(detail).strip().splitlines() or [type(e).__name__]
        print(f"warning: no chart for {target}: {lines[-1]}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=sorted(TARGETS), required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--dashboard-jobs", type=int, default=100000,
                   help="--target dashboard: jobs in the scheduler")
    p.add_argument("--audit-trials", type=int, default=100,
                   help="--target audits: seeded trials per fault mode and rate")
    p.add_argument("--kills", type=int, default=3,
                   help="--target volatile: workers killed during the failing run")
    p.add_argument("--checkpoint-s", type=int, default=10,
                   help="--target volatile: the job's checkpoint.everySeconds")
    p.add_argument("--repair-s", type=float, default=20.0,
                   help="--target volatile: seconds until a killed worker starts again (20: after "
                        "the scheduler's 15 s worker timeout, a machine that vanished; 2: an "
                        "agent that crashed and was restarted, which takes its name over at once)")
    p.add_argument("--replay-jobs", type=int, default=16,
                   help="--target replay: jobs run through the daemon, then replayed")
    p.add_argument("--replay-policies", default="fifo,fifo+backfill,fairshare+backfill",
                   help="--target replay: the policies compared, comma-separated")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--out", default=os.path.join(REPO, "bench", "out"))
    p.add_argument("--before-dir", help="--target builds: the build to compare --build-dir with")
    p.add_argument("--registry-bytes", type=parse_bytes, default=2 << 30,
                   help="--target registry: size of the pushed and pulled dataset (default 2GiB)")
    p.add_argument("--registry-repush-bytes", type=parse_bytes, default=1 << 30,
                   help="--target registry: size of the re-pushed dataset (default 1GiB; 0: skip)")
    p.add_argument("--drop-caches", action="store_true",
                   help="--target registry: drop the page cache before every transfer (root) "
                        "instead of reading the sources into it")
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
    write_chart(args.target, result, args.out)


if __name__ == "__main__":
    sys.exit(main())
