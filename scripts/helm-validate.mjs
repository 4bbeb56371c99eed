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
//    StatefulSet's serviceName); probes, TLS wiring and the GPU worker's slots.
// 3. Writes what the shell script checks with shoal's own binaries into OUTDIR: scheduler.yaml
//    (the ConfigMap), tiny-mlp.yaml and run.sh (the helm test), tokens.json (rendered tokens),
//    tls.crt, tls.key and ca.crt (a rendered kubernetes.io/tls Secret).
// Prints one JSON line: {"objects": N, "validated": N, "kinds": {...}, "failures": [...]}.
// With --readme README.md --values values.yaml instead: checks that the README's values table
// has a row for every value (and none for a value that does not exist).
// Exits 1 when anything failed, 2 on bad usage.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const opt = { modules: "", values: "", out: "", readme: "", files: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--modules" || a === "--values" || a === "--out" || a === "--readme") {
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
  [get(values, "tokens.existingSecret", ""), get(values, "tls.existingSecret", ""), get(values, "tls.caSecret", "")]
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
  const pvc = (get(sts, "spec.volumeClaimTemplates", []) || []).find((t) => t.metadata.name === "state");
  if (get(values, "scheduler.persistence.enabled", true) !== false && !pvc) fail(name(sts), "no volumeClaimTemplate for the state dir");
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
  const tokens = byKind("Secret").find((s) => s.type === "Opaque");
  if (tokens) {
    const data = Object.fromEntries(Object.entries(tokens.data || {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    writeFileSync(join(opt.out, "tokens.json"), JSON.stringify(data));
  }
}

console.log(JSON.stringify({ objects: objects.length, validated, kinds, failures }));
process.exit(failures.length ? 1 : 0);
