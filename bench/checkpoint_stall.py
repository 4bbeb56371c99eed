#!/usr/bin/env python3
"""Does a large checkpoint stall the scheduler? Starts a real shoal-scheduler from BUILD_DIR,
registers a worker and a job by hand (as the worker protocol does), PUTs a valid safetensors
checkpoint of GIB GiB for its rank 0 and GETs it back, while another connection probes /healthz
every 10 ms; prints the transfer times and the probes' latency (the stall). Run it for two builds
to compare them side by side:

    python3 bench/checkpoint_stall.py build 1.0
"""
import json, os, struct, subprocess, sys, tempfile, threading, time, hashlib, http.client, urllib.request
if len(sys.argv) < 2:
    sys.exit(__doc__)
build = os.path.abspath(sys.argv[1])
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gib = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
d = tempfile.mkdtemp(prefix="ckexp-")
tok = "shoal_ckexp_admin_0123456789abcdef0123456789abcdef"
open(d + "/tok", "w").write(tok + "\n")
log = open(d + "/sched.log", "w")
p = subprocess.Popen([build + "/scheduler/shoal-scheduler", "--port", "0", "--state-dir", d + "/db",
                      "--admin-token-file", d + "/tok", "--worker-timeout", "60s", "--heartbeat-wait", "1s"],
                     stdout=log, stderr=subprocess.STDOUT)
try:
    for _ in range(100):
        if os.path.exists(d + "/db/scheduler.addr") and os.path.getsize(d + "/db/scheduler.addr"):
            break
        time.sleep(0.05)
    url = open(d + "/db/scheduler.addr").read().strip()
    host, port = url[len("http://"):].split(":")
    H = {"Authorization": "Bearer " + tok}
    def call(method, path, body=None, headers={}, timeout=600):
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        c.request(method, path, body=body, headers={**H, **headers})
        r = c.getresponse(); data = r.read(); c.close()
        return r.status, data
    st, b = call("POST", "/v1/workers/register", json.dumps({"name": "w", "slots": 1}))
    wid = json.loads(b)["id"]
    spec = open(os.path.join(repo, "configs/jobs/tiny-mlp.yaml")).read()
    st, b = call("POST", "/v1/jobs", spec, {"Content-Type": "application/yaml"})
    job = json.loads(b)["id"]
    time.sleep(1.5)
    st, b = call("POST", f"/v1/workers/{wid}/heartbeat?wait=0", json.dumps({"running": [{"job": job, "attempt": 1, "rank": 0}]}))
    # A valid safetensors file of N float32s.
    n = int(gib * (1 << 30)) // 4
    header = json.dumps({"layers.0.weight": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    body = struct.pack("<Q", len(header)) + header + os.urandom(4 * n)
    sha = hashlib.sha256(body).hexdigest()
    lat = []; done = threading.Event()
    def probe():
        while not done.is_set():
            t = time.perf_counter(); call("GET", "/healthz"); lat.append(time.perf_counter() - t); time.sleep(0.01)
    th = threading.Thread(target=probe); th.start()
    t0 = time.perf_counter()
    st, b = call("PUT", f"/v1/jobs/{job}/checkpoints/10?attempt=1&worker={wid}", body, {"X-Shoal-Sha256": sha, "Content-Type": "application/octet-stream"})
    t1 = time.perf_counter()
    t2 = time.perf_counter(); st2, data = call("GET", f"/v1/jobs/{job}/checkpoints/10"); t3 = time.perf_counter()
    done.set(); th.join()
    lat.sort()
    print(f"PUT {len(body)/2**30:.2f} GiB -> {st} in {t1-t0:.2f} s; GET -> {st2} {len(data)/2**30:.2f} GiB in {t3-t2:.2f} s, same bytes: {data == body}")
    print(f"/healthz during them: {len(lat)} probes, p50 {lat[len(lat)//2]*1e3:.1f} ms, p99 {lat[int(len(lat)*0.99)]*1e3:.1f} ms, max {lat[-1]*1e3:.1f} ms")
finally:
    p.terminate(); p.wait()
    subprocess.run(["rm", "-rf", d])
