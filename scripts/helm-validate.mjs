// Validates the objects `helm template` rendered for one value set (scripts/helm-check.sh):
//   node scripts/helm-validate.mjs --modules DIR/node_modules --values VALUES.yaml \
//        --out OUTDIR RENDERED.yaml
// 1. Every object against the Kubernetes schemas: the model class of its apiVersion/kind from
//    kubernetes-models (the ServiceMonitor from @kubernetes-models/prometheus-operator), then
//    .validate(). An apiVersion/kind without a model is a failure, never skipped.
// 2. The chart's own rules: app.kubernetes.io/* + helm.sh/chart labels on every object and pod
//    template; a hardened securityContext on every pod; requests and limits on every container;
//    checksum annotations on the workloads' pod templates; references that resolve (Services,
//    PDB, NetworkPolicy and ServiceMonitor selectors, ConfigMaps and Secrets of volumes, the
//    StatefulSet's serviceName); probes, TLS wiring and the GPU worker's slots; the state claim;
//    the Pod Security Standards level of every pod (a hostPath or host network only where the
//    values ask for it); that the scheduler's NetworkPolicy admits Prometheus in the namespace
//    "monitoring" whenever the chart invites a scrape; with --metrics-readme README.md, that the
//    Grafana dashboard's PromQL uses only series and labels the README's Metrics table lists.
// 3. Writes what the shell script checks with shoal's own binaries into OUTDIR: scheduler.yaml
//    (the ConfigMap), tiny-mlp.yaml and run.sh (the helm test), tokens.json (rendered tokens),
//    tls.crt, tls.key and ca.crt (a rendered kubernetes.io/tls Secret).
//    Also probe-liveness.sh and probe-readiness.sh (the workers' exec probes) and
//    dashboard-series.txt (the series the dashboard queries).
// Prints one JSON line: {"objects": N, "validated": N, "kinds": {...}, "podSecurity": {...},
// "dashboard": {...}, "failures": [...]}.
// With --readme README.md --values values.yaml instead: checks that the README's values table
// has a row for every value (and none for a value that does not exist).
// Exits 1 when anything failed, 2 on bad usage.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const opt = { modules: "", values: "", out: "", readme: "", "metrics-readme": "", files: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--modules" || a === "--values" || a === "--out" || a === "--readme" || a === "--metrics-readme") {
    opt[a.slice(2)] = args[++i];
  } else if (a.startsWith("--")) {
    console.error(`helm-validate: unknown flag ${a}`);
    process.exit(2);
  } else {
    opt.files.push(a);
  }
}
if (!opt.modules || (opt.files.length === 0 && !opt.readme)) {
  console.error("usage: helm-validate.mjs --modules NODE_MODULES [--values FILE] [--out DIR] RENDERED.yaml...\n" +
                "       helm-validate.mjs --modules NODE_MODULES --values values.yaml --readme README.md");
  process.exit(2);
}

// ---- Module resolution from the cache directory (this script does not live next to it). ----
// Follows the package's "exports" map (exact keys and one "*" wildcard), import/node/default.
function resolvePackage(pkg, subpath) {
  const dir = join(opt.modules, pkg);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const key = subpath ? `./${subpath}` : ".";
  const pick = (target) => {
    if (typeof target === "string") return target;
    if (target && typeof target === "object") {
      for (const c of ["import", "node", "default"]) {
        if (c in target) return pick(target[c]);
      }
    }
    return null;
  };
  const exportsMap = manifest.exports;
  if (!exportsMap) return join(dir, subpath ? `${subpath}.js` : manifest.main || "index.js");
  if (typeof exportsMap === "string" || !Object.keys(exportsMap).some((k) => k.startsWith("."))) {
    if (key === ".") return join(dir, pick(exportsMap));
    return null;
  }
  if (key in exportsMap) {
    const t = pick(exportsMap[key]);
    return t ? join(dir, t) : null;
  }
  for (const [pattern, target] of Object.entries(exportsMap)) {
    const star = pattern.indexOf("*");
    if (star < 0) continue;
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    if (key.startsWith(prefix) && key.endsWith(suffix) && key.length >= prefix.length + suffix.length) {
      const match = key.slice(prefix.length, key.length - suffix.length);
      const t = pick(target);
      return t ? join(dir, t.replace("*", match)) : null;
    }
  }
  return null;
}

async function importPackage(pkg, subpath) {
  const file = resolvePackage(pkg, subpath);
  if (!file || !existsSync(file)) return null;
  return import(pathToFileURL(file).href);
}

const YAML = await importPackage("yaml", "");
if (!YAML) {
  console.error(`helm-validate: the yaml package is missing under ${opt.modules}`);
  process.exit(2);
}

// apiVersion -> [package, directory] of its models.
function modelLocation(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return ["@kubernetes-models/prometheus-operator", `${group}/${version}`];
  }
  if (group === "") return ["kubernetes-models", version];
  return ["kubernetes-models", `${group}/${version}`];
}

const modelCache = new Map();
async function modelFor(apiVersion, kind) {
  const id = `${apiVersion}/${kind}`;
  if (modelCache.has(id)) return modelCache.get(id);
  const [pkg, dir] = modelLocation(apiVersion);
  let model = null;
  try {
    const mod = await importPackage(pkg, `${dir}/${kind}`);
    model = mod ? mod[kind] || null : null;
  } catch (e) {
    model = null;
  }
  modelCache.set(id, model);
  return model;
}

// ---- Load the rendered objects and the value set. ----
const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);
const objects = [];
for (const file of opt.files) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      fail(file, `YAML error: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue;  // an empty document between "---"
    objects.push(obj);
  }
}
const values = opt.values ? YAML.parse(readFileSync(opt.values, "utf8")) || {} : {};

const get = (o, path, dflt) => {
  let cur = o;
  for (const p of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !(p in cur)) return dflt;
    cur = cur[p];
  }
  return cur;
};
// --readme README.md (with --values values.yaml): every value of the chart has a row in the
// README's table ("| `key` |"), itself or an ancestor (for maps like resources or affinity).
if (opt.readme) {
  const documented = new Set([...readFileSync(opt.readme, "utf8").matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
  const missing = [];
  const walk = (v, path) => {
    if (path && documented.has(path)) return;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    } else {
      missing.push(path);
    }
  };
  walk(values, "");
  const stale = [...documented].filter((p) => get(values, p, undefined) === undefined);
  console.log(JSON.stringify({ documented: documented.size, missing, stale }));
  process.exit(missing.length || stale.length ? 1 : 0);
}

const tlsOn = get(values, "tls.enabled", false) === true;

// ---- 1. Kubernetes schemas. ----
let validated = 0;
const kinds = {};
const name = (o) => `${o.kind || "?"}/${get(o, "metadata.name", "?")}`;
for (const obj of objects) {
  if (!obj.apiVersion || !obj.kind) {
    fail(name(obj), "no apiVersion or kind");
    continue;
  }
  kinds[obj.kind] = (kinds[obj.kind] || 0) + 1;
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) {
    fail(name(obj), `no schema for ${obj.apiVersion} ${obj.kind} (unknown kind: not skipped)`);
    continue;
  }
  try {
    new Model(obj).validate();
    validated++;
  } catch (e) {
    fail(name(obj), `schema: ${String(e.message || e).slice(0, 800)}`);
  }
}

// ---- 2. The chart's rules. ----
const kLabels = [
  "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
  "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
  "helm.sh/chart",
];
const checkLabels = (where, labels) => {
  for (const l of kLabels) {
    if (!labels || !labels[l]) fail(where, `label ${l} missing`);
  }
};
const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels && labels[k] === v);

const byKind = (k) => objects.filter((o) => o.kind === k);
const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind));
// Every pod the chart makes: [where, pod metadata, pod spec, owner].
const pods = workloads.map((w) => [name(w), get(w, "spec.template.metadata", {}), get(w, "spec.template.spec", {}), w]);
for (const p of byKind("Pod")) pods.push([name(p), p.metadata || {}, p.spec || {}, p]);

const renderedConfigMaps = new Set(byKind("ConfigMap").map((o) => o.metadata.name));
const renderedSecrets = new Set(byKind("Secret").map((o) => o.metadata.name));
const externalSecrets = new Set(
  [get(values, "tokens.existingSecret", ""), get(values, "tls.existingSecret", ""), get(values, "tls.caSecret", ""),
   get(values, "registry.masterKey.existingSecret", "")]
    .filter((s) => s));

for (const obj of objects) checkLabels(name(obj), get(obj, "metadata.labels"));

for (const [where, meta, spec, owner] of pods) {
  checkLabels(`${where} pod`, meta.labels);
  const psc = spec.securityContext || {};
  if (spec.automountServiceAccountToken !== false) fail(where, "automountServiceAccountToken is not false");
  if (get(psc, "seccompProfile.type") !== "RuntimeDefault") fail(where, "pod seccompProfile is not RuntimeDefault");
  if (psc.runAsNonRoot !== true) fail(where, "pod runAsNonRoot is not true");
  if (!(psc.runAsUser > 0)) fail(where, "pod runAsUser is not a non-root uid");
  const containers = [...(spec.initContainers || []), ...(spec.containers || [])];
  if (containers.length === 0) fail(where, "no containers");
  for (const c of containers) {
    const cw = `${where} container ${c.name}`;
    const sc = c.securityContext || {};
    if (sc.allowPrivilegeEscalation !== false) fail(cw, "allowPrivilegeEscalation is not false");
    if (sc.readOnlyRootFilesystem !== true) fail(cw, "readOnlyRootFilesystem is not true");
    if (sc.privileged === true) fail(cw, "privileged");
    if (!(get(sc, "capabilities.drop", []) || []).includes("ALL")) fail(cw, "capabilities do not drop ALL");
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) fail(cw, "runAsNonRoot is not true");
    if (sc.runAsUser === 0) fail(cw, "runAsUser 0");
    const req = get(c, "resources.requests", {}) || {};
    const lim = get(c, "resources.limits", {}) || {};
    if (!req.cpu || !req.memory) fail(cw, "resources.requests lacks cpu or memory");
    if (!lim.memory) fail(cw, "resources.limits lacks memory");
    // Every mount names a volume of the pod.
    const vols = new Set((spec.volumes || []).map((v) => v.name));
    for (const m of c.volumeMounts || []) {
      if (!vols.has(m.name) && !(get(owner, "spec.volumeClaimTemplates", []) || []).some((t) => t.metadata.name === m.name)) {
        fail(cw, `volumeMount ${m.name} has no volume`);
      }
    }
  }
  for (const v of spec.volumes || []) {
    if (v.configMap && !renderedConfigMaps.has(v.configMap.name)) fail(where, `volume ${v.name}: ConfigMap ${v.configMap.name} is not rendered`);
    if (v.secret && !renderedSecrets.has(v.secret.secretName) && !externalSecrets.has(v.secret.secretName)) {
      fail(where, `volume ${v.name}: Secret ${v.secret.secretName} is neither rendered nor an existing one of the values`);
    }
  }
}

const hex64 = /^[0-9a-f]{64}$/;
for (const w of workloads) {
  const ann = get(w, "spec.template.metadata.annotations", {}) || {};
  const need = w.kind === "StatefulSet" ? ["checksum/config", "checksum/secret"] : ["checksum/secret"];
  for (const a of need) {
    if (!hex64.test(ann[a] || "")) fail(name(w), `pod template annotation ${a} missing or not a sha256`);
  }
  const sel = get(w, "spec.selector.matchLabels");
  if (!matches(sel, get(w, "spec.template.metadata.labels"))) fail(name(w), "selector does not match its pod template");
}

const schedulers = byKind("StatefulSet");
if (schedulers.length !== 1) fail("chart", `expected one scheduler StatefulSet, found ${schedulers.length}`);
const podLabelsOf = (o) => get(o, "spec.template.metadata.labels", {});
for (const svc of byKind("Service")) {
  const sel = get(svc, "spec.selector");
  if (!workloads.some((w) => matches(sel, podLabelsOf(w)))) fail(name(svc), "selector matches no pod");
}
for (const pdb of byKind("PodDisruptionBudget")) {
  if (!workloads.some((w) => matches(get(pdb, "spec.selector.matchLabels"), podLabelsOf(w)))) fail(name(pdb), "selector matches no pod");
}
for (const np of byKind("NetworkPolicy")) {
  const sel = get(np, "spec.podSelector.matchLabels");
  const targets = [...workloads.map(podLabelsOf), ...byKind("Pod").map((p) => p.metadata.labels)];
  if (!targets.some((l) => matches(sel, l))) fail(name(np), "podSelector matches no pod");
}
for (const sm of byKind("ServiceMonitor")) {
  const hits = byKind("Service").filter((s) => matches(get(sm, "spec.selector.matchLabels"), s.metadata.labels));
  if (hits.length !== 1) fail(name(sm), `selects ${hits.length} Services (want exactly the API one)`);
  for (const ep of get(sm, "spec.endpoints", [])) {
    if (hits[0] && !get(hits[0], "spec.ports", []).some((p) => p.name === ep.port)) fail(name(sm), `endpoint port ${ep.port} is not a port of the Service`);
    if ((ep.scheme === "https") !== tlsOn) fail(name(sm), `endpoint scheme ${ep.scheme} with tls.enabled=${tlsOn}`);
  }
}
for (const sts of schedulers) {
  const svcName = get(sts, "spec.serviceName");
  const headless = byKind("Service").find((s) => s.metadata.name === svcName);
  if (!headless || get(headless, "spec.clusterIP") !== "None") fail(name(sts), `serviceName ${svcName} is not a rendered headless Service`);
  if (get(sts, "spec.replicas") !== 1) fail(name(sts), "the scheduler must be a single replica");
  const c = (get(sts, "spec.template.spec.containers", []) || [])[0] || {};
  const args = c.args || [];
  if (args[0] !== "--config" || args[1] !== "/etc/shoal/scheduler.yaml") fail(name(sts), "not started with --config /etc/shoal/scheduler.yaml");
  const scheme = tlsOn ? "HTTPS" : "HTTP";
  for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
    const g = get(c, `${probe}.httpGet`, {});
    if (g.path !== path || g.scheme !== scheme) fail(name(sts), `${probe} is not ${scheme} GET ${path}`);
  }
}
const workerArgs = (w) => (get(w, "spec.template.spec.containers", []) || [])[0]?.args || [];
const argAfter = (args, flag) => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };
for (const w of workloads.filter((o) => o.kind !== "StatefulSet")) {
  const args = workerArgs(w);
  const url = argAfter(args, "--scheduler") || "";
  if (!url.startsWith(tlsOn ? "https://" : "http://")) fail(name(w), `--scheduler ${url} with tls.enabled=${tlsOn}`);
  const wantCA = tlsOn && get(values, "tls.caKey", "ca.crt") !== "";
  if (args.includes("--ca-file") !== wantCA) fail(name(w), `--ca-file ${wantCA ? "missing" : "unexpected"}`);
  if (!argAfter(args, "--token-file")) fail(name(w), "no --token-file");
  if (!argAfter(args, "--work-dir")) fail(name(w), "no --work-dir");
  if (w.kind === "DaemonSet") {
    const c = get(w, "spec.template.spec.containers", [])[0];
    const res = get(values, "workers.gpu.resourceName", "nvidia.com/gpu");
    const gpus = get(c, "resources.limits", {})[res];
    if (String(gpus) !== argAfter(args, "--slots")) fail(name(w), `--slots ${argAfter(args, "--slots")} differs from the ${res} limit ${gpus}`);
    const tol = get(w, "spec.template.spec.tolerations", []) || [];
    if (!tol.some((t) => t.key === "nvidia.com/gpu" && t.operator === "Exists" && t.effect === "NoSchedule")) fail(name(w), "no toleration for the nvidia.com/gpu taint");
  } else if (!args.includes("--no-gpu")) {
    fail(name(w), "a CPU worker without --no-gpu");
  }
}


// The state dir: the chart's own claim (kept on uninstall, resizable) or values' existingClaim.
const persistence = get(values, "scheduler.persistence", {}) || {};
for (const sts of schedulers) {
  const vol = (get(sts, "spec.template.spec.volumes", []) || []).find((v) => v.name === "state");
  const claims = byKind("PersistentVolumeClaim");
  if (get(sts, "spec.volumeClaimTemplates")) fail(name(sts), "volumeClaimTemplates (immutable: the state claim could never be resized)");
  if (persistence.enabled === false) {
    if (!vol || !vol.emptyDir) fail(name(sts), "persistence off but the state volume is not an emptyDir");
  } else if (!vol || !vol.persistentVolumeClaim) {
    fail(name(sts), "no persistentVolumeClaim volume for the state dir");
  } else if (persistence.existingClaim) {
    if (vol.persistentVolumeClaim.claimName !== persistence.existingClaim) fail(name(sts), `state claim ${vol.persistentVolumeClaim.claimName}, not existingClaim ${persistence.existingClaim}`);
    if (claims.length) fail("chart", "a PersistentVolumeClaim is rendered although scheduler.persistence.existingClaim is set");
  } else {
    const pvc = claims.find((c) => c.metadata.name === vol.persistentVolumeClaim.claimName);
    if (!pvc) fail(name(sts), `state claim ${vol.persistentVolumeClaim.claimName} is not rendered`);
    else {
      if (get(pvc, "metadata.annotations", {})["helm.sh/resource-policy"] !== "keep") fail(name(pvc), "no helm.sh/resource-policy: keep (uninstall would delete the database)");
      const want = String(get(values, "scheduler.persistence.size", "10Gi"));
      if (String(get(pvc, "spec.resources.requests.storage")) !== want) fail(name(pvc), `size ${get(pvc, "spec.resources.requests.storage")}, values say ${want}`);
    }
  }
}
// A generated tokens Secret outlives the release too (its tokens are in the database).
for (const sec of byKind("Secret").filter((x) => x.type === "Opaque")) {
  if (get(sec, "metadata.annotations", {})["helm.sh/resource-policy"] !== "keep") fail(name(sec), "tokens Secret without helm.sh/resource-policy: keep");
}
if (get(values, "tokens.existingSecret", "") && byKind("Secret").some((x) => x.type === "Opaque")) {
  fail("chart", "a tokens Secret is rendered although tokens.existingSecret is set");
}

// Images: pinned to the digest the values give.
for (const [where, , spec] of pods) {
  for (const c of spec.containers || []) {
    const kind = c.name === "worker" ? "workers" : "scheduler";
    const digest = get(values, `${kind}.image.digest`, "");
    if (digest && !String(c.image).endsWith(`@${digest}`)) fail(`${where} container ${c.name}`, `image ${c.image} is not pinned to ${digest}`);
    if (!digest && String(c.image).includes("@")) fail(`${where} container ${c.name}`, `image ${c.image} has a digest the values do not give`);
  }
}

// GPU workers: DaemonSets that never select the same pods; with gpusPerPod 0, one per node
// shape whose nodeSelector, GPU limit and --slots agree.
const daemonSets = byKind("DaemonSet");
for (const a of daemonSets) {
  for (const b of daemonSets) {
    if (a !== b && matches(get(a, "spec.selector.matchLabels"), podLabelsOf(b))) fail(name(a), `selector also matches the pods of ${name(b)}`);
  }
}
if (get(values, "workers.gpu.enabled", true) !== false) {
  const perPod = get(values, "workers.gpu.gpusPerPod", 0);
  const counts = perPod > 0 ? [perPod] : get(values, "workers.gpu.nodeGpuCounts", [1, 2, 4, 8, 16]);
  if (daemonSets.length !== counts.length) fail("chart", `${daemonSets.length} GPU worker DaemonSets for ${counts.length} node shape(s)`);
  const label = get(values, "workers.gpu.gpuCountLabel", "nvidia.com/gpu.count");
  const res = get(values, "workers.gpu.resourceName", "nvidia.com/gpu");
  for (const ds of daemonSets) {
    const limit = get(ds, "spec.template.spec.containers", [])[0]?.resources?.limits?.[res];
    const sel = get(ds, "spec.template.spec.nodeSelector", {}) || {};
    if (!counts.includes(limit)) fail(name(ds), `asks for ${limit} GPUs, not one of ${counts}`);
    if (perPod === 0 && sel[label] !== String(limit)) fail(name(ds), `nodeSelector ${label}=${sel[label]} but asks for ${limit} GPUs: it would sit Pending or leave GPUs idle`);
  }
}

// Workers: exec probes that ask the scheduler about this worker, never a fixed "true".
for (const w of workloads.filter((o) => o.kind !== "StatefulSet")) {
  const c = get(w, "spec.template.spec.containers", [])[0] || {};
  for (const probe of ["livenessProbe", "readinessProbe"]) {
    const cmd = get(c, `${probe}.exec.command`, []) || [];
    const script = cmd[cmd.length - 1] || "";
    if (!script.includes("shoal workers") || !script.includes("$SHOAL_WORKER_NAME")) fail(name(w), `${probe} does not check this worker with \`shoal workers\``);
  }
  const env = Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));
  if (env.SHOAL_SCHEDULER !== argAfter(c.args || [], "--scheduler")) fail(name(w), "SHOAL_SCHEDULER (for the probes) differs from --scheduler");
  if (env.SHOAL_TOKEN_FILE !== argAfter(c.args || [], "--token-file")) fail(name(w), "SHOAL_TOKEN_FILE (for the probes) differs from --token-file");
}

// Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/):
// each pod's level. A baseline violation fails unless the values ask for exactly it.
const baselineCaps = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const restrictedVolumes = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const safeSysctls = new Set(["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"]);
const podSecurity = {};
for (const [where, , spec, owner] of pods) {
  const baseline = [];
  const restricted = [];
  const isWorker = get(owner, "metadata.labels", {})["app.kubernetes.io/component"] === "worker";
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[f]) baseline.push(f);
  for (const v of spec.volumes || []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (type === "hostPath") baseline.push(`hostPath volume ${v.name}`);
    if (!restrictedVolumes.has(type)) restricted.push(`volume type ${type}`);
  }
  for (const s of get(spec, "securityContext.sysctls", []) || []) if (!safeSysctls.has(s.name)) baseline.push(`sysctl ${s.name}`);
  const psc = spec.securityContext || {};
  for (const c of [...(spec.initContainers || []), ...(spec.containers || [])]) {
    const sc = c.securityContext || {};
    if (sc.privileged) baseline.push(`${c.name} privileged`);
    for (const p of c.ports || []) if (p.hostPort) baseline.push(`${c.name} hostPort ${p.hostPort}`);
    for (const cap of get(sc, "capabilities.add", []) || []) {
      if (!baselineCaps.has(cap)) baseline.push(`${c.name} capability ${cap}`);
      if (cap !== "NET_BIND_SERVICE") restricted.push(`${c.name} capability ${cap}`);
    }
    if (sc.procMount && sc.procMount !== "Default") baseline.push(`${c.name} procMount ${sc.procMount}`);
    const seccomp = get(sc, "seccompProfile.type") || get(psc, "seccompProfile.type");
    if (seccomp === "Unconfined") baseline.push(`${c.name} seccomp Unconfined`);
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") restricted.push(`${c.name} seccomp ${seccomp}`);
    if (sc.allowPrivilegeEscalation !== false) restricted.push(`${c.name} allowPrivilegeEscalation`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) restricted.push(`${c.name} runAsNonRoot`);
    if (!(get(sc, "capabilities.drop", []) || []).includes("ALL")) restricted.push(`${c.name} capabilities not dropping ALL`);
  }
  podSecurity[where] = baseline.length ? "privileged" : restricted.length ? "baseline" : "restricted";
  const asked = (b) => isWorker && ((b === "hostNetwork" && get(values, "workers.hostNetwork", false) === true) ||
    (b === "hostPath volume data" && get(values, "workers.data.hostPath", "") !== ""));
  for (const b of baseline) if (!asked(b)) fail(where, `Pod Security "baseline" forbids ${b}, and the values do not ask for it`);
}

// A scrape the chart invites (annotations or a ServiceMonitor) must get through the scheduler's
// NetworkPolicy: a Prometheus pod in the namespace "monitoring" (or the ServiceMonitor's).
const selects = (sel, labels) => {
  if (!sel) return true;
  const ml = sel.matchLabels || {};
  if (!Object.entries(ml).every(([k, v]) => (labels || {})[k] === v)) return false;
  for (const e of sel.matchExpressions || []) {
    const v = (labels || {})[e.key];
    if (e.operator === "In" && !(e.values || []).includes(v)) return false;
    if (e.operator === "NotIn" && v !== undefined && (e.values || []).includes(v)) return false;
    if (e.operator === "Exists" && v === undefined) return false;
    if (e.operator === "DoesNotExist" && v !== undefined) return false;
  }
  return true;
};
const admits = (np, ns, podLabels) => (get(np, "spec.ingress", []) || []).some((rule) =>
  (rule.from || []).some((peer) => {
    if (peer.ipBlock) return false;
    const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": ns }) : ns === get(np, "metadata.namespace");
    return nsOk && selects(peer.podSelector, podLabels);
  }));
const schedulerPodAnn = get(schedulers[0] || {}, "spec.template.metadata.annotations", {}) || {};
const scrapeInvited = schedulerPodAnn["prometheus.io/scrape"] === "true" || byKind("ServiceMonitor").length > 0;
const schedulerNp = byKind("NetworkPolicy").find((np) => schedulers[0] && matches(get(np, "spec.podSelector.matchLabels"), podLabelsOf(schedulers[0])));
let metricsAdmitted = null;
if (scrapeInvited && schedulerNp) {
  const promNs = get(values, "metrics.serviceMonitor.namespace", "") || "monitoring";
  metricsAdmitted = admits(schedulerNp, promNs, { "app.kubernetes.io/name": "prometheus" });
  if (!metricsAdmitted) fail(name(schedulerNp), `the chart invites a scrape but Prometheus in namespace ${promNs} is not admitted`);
}

// The Grafana dashboard: parses, covers loss, throughput, queue and pool utilisation, and its
// PromQL names only series (and labels) the README's Metrics table lists.
const dashboard = { panels: 0, queries: 0, series: [] };
const dashboardMaps = byKind("ConfigMap").filter((c) => Object.keys(get(c, "data", {}) || {}).some((k) => k.endsWith(".json")));
if (get(values, "metrics.grafanaDashboard.enabled", false) === true && dashboardMaps.length !== 1) fail("chart", `grafanaDashboard.enabled but ${dashboardMaps.length} dashboard ConfigMaps`);
for (const cm of dashboardMaps) {
  const labels = get(values, "metrics.grafanaDashboard.labels", { grafana_dashboard: "1" }) || {};
  for (const [k, v] of Object.entries(labels)) if (cm.metadata.labels[k] !== v) fail(name(cm), `label ${k}=${v} (for Grafana's sidecar) missing`);
  if (!opt["metrics-readme"]) { fail(name(cm), "no --metrics-readme to check the dashboard's queries against"); continue; }
  // README: "### Metrics" table rows: | `series`, ... | type | `label`; ... |
  const readme = readFileSync(opt["metrics-readme"], "utf8");
  const section = (readme.split(/^### Metrics$/m)[1] || "").split(/^#{2,3} /m)[0];
  const known = new Map();  // series -> {type, labels}
  for (const row of section.matchAll(/^\|(.*)\|(.*)\|(.*)\|$/gm)) {
    const series = [...row[1].matchAll(/`(shoal_[a-z0-9_]+)`/g)].map((m) => m[1]);
    const type = row[2].trim();
    const rowLabels = [...row[3].matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    for (const s of series) {
      const names = type === "histogram" ? [`${s}_bucket`, `${s}_sum`, `${s}_count`] : [s];
      for (const n of names) known.set(n, { type, labels: new Set([...rowLabels, ...(type === "histogram" && n.endsWith("_bucket") ? ["le"] : [])]) });
    }
  }
  if (known.size === 0) fail(opt["metrics-readme"], "no series found in its ### Metrics table");
  const promFunctions = new Set(["sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile", "clamp_min", "clamp_max", "topk", "bottomk", "abs", "delta", "deriv", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "label_values", "quantile", "stddev", "absent", "time", "vector", "scalar"]);
  const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]);
  let json;
  try { json = JSON.parse(Object.entries(cm.data).find(([k]) => k.endsWith(".json"))[1]); } catch (e) { fail(name(cm), `dashboard JSON: ${e.message}`); continue; }
  const exprs = [];
  const walkPanels = (list) => {
    for (const p of list || []) {
      if (p.type === "row") { walkPanels(p.panels); continue; }
      dashboard.panels++;
      const t = (p.targets || []).filter((x) => x.expr);
      if (t.length === 0) fail(name(cm), `panel "${p.title}" has no query`);
      for (const x of t) exprs.push([p.title, x.expr]);
    }
  };
  walkPanels(json.panels);
  for (const v of get(json, "templating.list", []) || []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && q) exprs.push([`variable ${v.name}`, q]);
  }
  dashboard.queries = exprs.length;
  const used = new Set();
  for (const [title, expr] of exprs) {
    const where = `${name(cm)} panel "${title}"`;
    // Strings, ranges and Grafana variables carry no names; label matchers and groupings name labels.
    let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "").replace(/\$\{?[A-Za-z_]+\}?/g, "1");
    const series = [];
    const labelUses = [];
    e = e.replace(/\b(by|without)\s*\(([^)]*)\)/g, (_, kw, ls) => { labelUses.push(...ls.split(",").map((x) => x.trim()).filter(Boolean)); return " "; });
    e = e.replace(/\{([^}]*)\}/g, (_, body) => { for (const m of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g)) labelUses.push(m[1]); return " "; });
    const lv = expr.match(/^label_values\(\s*([a-z_0-9]+)\s*,\s*([a-z_]+)\s*\)$/);
    if (lv) { series.push(lv[1]); labelUses.push(lv[2]); e = ""; }
    for (const m of e.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
      const [, ident, call] = m;
      if (call) { if (!promFunctions.has(ident)) fail(where, `unknown PromQL function ${ident}`); }
      else if (!keywords.has(ident) && !/^[0-9]/.test(ident) && !/^e$/.test(ident)) series.push(ident);
    }
    if (series.length === 0) fail(where, `query names no series: ${expr}`);
    const allowed = new Set();
    for (const s of series) {
      used.add(s.replace(/_(bucket|sum|count)$/, (m) => (known.get(s)?.type === "histogram" ? "" : m)));
      const k = known.get(s);
      if (!k) { fail(where, `series ${s} is not in the README's Metrics table`); continue; }
      for (const l of k.labels) allowed.add(l);
    }
    for (const l of labelUses) if (!allowed.has(l)) fail(where, `label ${l} is not a label of ${series.join(", ")} in the README`);
  }
  dashboard.series = [...used].sort();
  for (const need of ["shoal_job_loss", "shoal_job_samples_per_second", "shoal_jobs_pending", "shoal_slots", "shoal_gpus"]) {
    if (!used.has(need)) fail(name(cm), `the dashboard does not show ${need}`);
  }
}

// ---- 3. Files for the shell script's checks with shoal's binaries. ----
if (opt.out) {
  mkdirSync(opt.out, { recursive: true });
  const config = byKind("ConfigMap").find((c) => get(c, "data", {})["scheduler.yaml"]);
  if (!config) fail("chart", "no ConfigMap with scheduler.yaml");
  else writeFileSync(join(opt.out, "scheduler.yaml"), config.data["scheduler.yaml"]);
  const testCm = byKind("ConfigMap").find((c) => get(c, "data", {})["tiny-mlp.yaml"]);
  if (testCm) {
    writeFileSync(join(opt.out, "tiny-mlp.yaml"), testCm.data["tiny-mlp.yaml"]);
    writeFileSync(join(opt.out, "run.sh"), testCm.data["run.sh"] || "");
  }
  const tlsSecret = byKind("Secret").find((s) => s.type === "kubernetes.io/tls");
  for (const [key, file] of Object.entries(get(tlsSecret || {}, "data", {}) || {})) {
    writeFileSync(join(opt.out, key), Buffer.from(file, "base64"));
  }
  const worker = workloads.find((w) => w.kind !== "StatefulSet");
  if (worker) {
    const c = get(worker, "spec.template.spec.containers", [])[0] || {};
    for (const probe of ["liveness", "readiness"]) {
      const cmd = get(c, `${probe}Probe.exec.command`, []) || [];
      writeFileSync(join(opt.out, `probe-${probe}.sh`), cmd[cmd.length - 1] || "");
    }
  }
  if (dashboard.series.length) writeFileSync(join(opt.out, "dashboard-series.txt"), dashboard.series.join("\n") + "\n");
  const tokens = byKind("Secret").find((s) => s.type === "Opaque");
  if (tokens) {
    const data = Object.fromEntries(Object.entries(tokens.data || {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    writeFileSync(join(opt.out, "tokens.json"), JSON.stringify(data));
  }
}

console.log(JSON.stringify({ objects: objects.length, validated, kinds, podSecurity, metricsAdmitted, dashboard, failures }));
process.exit(failures.length ? 1 : 0);
