{{/*
Names, labels and the small pieces several templates share.
*/}}

{{- define "shoal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: RELEASE-shoal (or RELEASE when it already contains the chart name), at most 63
characters. Object names append a suffix, so keep it short enough for theirs too.
*/}}
{{- define "shoal.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shoal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; pass a dict with "ctx" (the root) and "component". */}}
{{- define "shoal.labels" -}}
helm.sh/chart: {{ include "shoal.chart" .ctx }}
{{ include "shoal.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: shoal
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "shoal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shoal.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The pods of both worker kinds (NetworkPolicy peers). */}}
{{- define "shoal.workerPodLabels" -}}
app.kubernetes.io/name: {{ include "shoal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "shoal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shoal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image: pass a dict with "image" (repository/tag/digest/pullPolicy) and "ctx". With a digest
the runtime pulls exactly that (the tag stays for people reading the manifest). */}}
{{- define "shoal.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- with .image.digest }}@{{ . }}{{ end }}
{{- end }}

{{- define "shoal.configMapName" -}}
{{- printf "%s-config" (include "shoal.fullname" .) }}
{{- end }}

{{- define "shoal.tokenSecretName" -}}
{{- if .Values.tokens.existingSecret }}
{{- .Values.tokens.existingSecret }}
{{- else }}
{{- printf "%s-tokens" (include "shoal.fullname" .) }}
{{- end }}
{{- end }}

{{- define "shoal.tlsSecretName" -}}
{{- if .Values.tls.existingSecret }}
{{- .Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "shoal.fullname" .) }}
{{- end }}
{{- end }}

{{- define "shoal.caSecretName" -}}
{{- default (include "shoal.tlsSecretName" .) .Values.tls.caSecret }}
{{- end }}

{{/* Mount a CA for clients (workers, test) only when TLS is on and a CA key is named. */}}
{{- define "shoal.mountCA" -}}
{{- if and .Values.tls.enabled .Values.tls.caKey }}true{{ end }}
{{- end }}

{{- define "shoal.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{- define "shoal.schedulerHost" -}}
{{- printf "%s.%s.svc" (include "shoal.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The URL clients inside the cluster use. */}}
{{- define "shoal.schedulerURL" -}}
{{- if .Values.schedulerURL }}
{{- .Values.schedulerURL }}
{{- else }}
{{- printf "%s://%s:%d" (include "shoal.scheme" .) (include "shoal.schedulerHost" .) (int .Values.scheduler.service.port) }}
{{- end }}
{{- end }}

{{/* A ServiceMonitor is rendered only when asked for and the cluster serves its API. */}}
{{- define "shoal.serviceMonitorOn" -}}
{{- if and .Values.metrics.serviceMonitor.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}true{{ end }}
{{- end }}

{{/*
The tokens: given in values, else those of the Secret this release already created (lookup;
empty under `helm template`), else new random ones. Returns a dict rendered as YAML.
Never new random ones for a database that already knows others: when the Secret is gone but the
chart's state claim is still there (uninstall keeps both; someone deleted the Secret), the
scheduler would ignore the new tokens (it reads the files on its first start only) and the
workers could not join, so rendering fails instead.
*/}}
{{- define "shoal.tokens" -}}
{{- /* Computed once per render (memoized in .Values, after schema validation) so that the
Secret and the checksum annotations see the same random tokens. */ -}}
{{- if not (hasKey .Values "__shoalTokens") }}
{{- $name := include "shoal.tokenSecretName" . }}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace $name) | default dict }}
{{- $data := get $existing "data" | default dict }}
{{- if and (not $existing) (not (and .Values.tokens.adminToken .Values.tokens.workerToken)) }}
{{- $claim := include "shoal.stateClaimName" . }}
{{- /* Only the chart's own claim: a claim made outside the chart may be new and empty. */}}
{{- if and .Values.scheduler.persistence.enabled (not .Values.scheduler.persistence.existingClaim) (lookup "v1" "PersistentVolumeClaim" .Release.Namespace $claim) }}
{{- fail (printf "tokens: the Secret %s is gone but the scheduler's state claim %s (its database, which knows the old tokens) is still there; new random tokens would be ignored by the scheduler. Restore the Secret, or set tokens.existingSecret or tokens.adminToken and tokens.workerToken to the tokens the database knows" $name $claim) }}
{{- end }}
{{- end }}
{{- $admin := .Values.tokens.adminToken }}
{{- if not $admin }}
{{- $old := get $data .Values.tokens.adminTokenKey }}
{{- $admin = ternary ($old | b64dec) (printf "shoal_%s" (randAlphaNum 64)) (not (empty $old)) }}
{{- end }}
{{- $worker := .Values.tokens.workerToken }}
{{- if not $worker }}
{{- $old := get $data .Values.tokens.workerTokenKey }}
{{- $worker = ternary ($old | b64dec) (printf "shoal_%s" (randAlphaNum 64)) (not (empty $old)) }}
{{- end }}
{{- $_ := set .Values "__shoalTokens" (dict "admin" $admin "worker" $worker) }}
{{- end }}
{{- toYaml (get .Values "__shoalTokens") }}
{{- end }}

{{/* Fails rendering on combinations the schema cannot express. */}}
{{- define "shoal.validate" -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (or (not .Values.tls.certificate) (not .Values.tls.key)) }}
{{- fail "tls.enabled needs tls.existingSecret, or tls.certificate and tls.key" }}
{{- end }}
{{- if and .Values.tls.enabled .Values.tls.caKey (not .Values.tls.existingSecret) (not .Values.tls.caSecret) (not .Values.tls.ca) }}
{{- fail "tls: workers need the CA: set tls.ca (PEM), tls.caSecret, or tls.caKey=\"\" for a certificate the system CAs trust" }}
{{- end }}
{{- if and .Values.tokens.adminToken .Values.tokens.workerToken (eq .Values.tokens.adminToken .Values.tokens.workerToken) }}
{{- fail "tokens.adminToken and tokens.workerToken must differ" }}
{{- end }}
{{- if and .Values.workers.data.existingClaim .Values.workers.data.hostPath }}
{{- fail "workers.data: set existingClaim or hostPath, not both" }}
{{- end }}
{{- if and .Values.workers.hostNetwork .Values.networkPolicy.enabled (or .Values.workers.gpu.enabled .Values.workers.cpu.enabled) }}
{{- $ipBlock := false }}
{{- range .Values.networkPolicy.ingressFrom }}{{ if .ipBlock }}{{ $ipBlock = true }}{{ end }}{{ end }}
{{- if not $ipBlock }}
{{- fail "workers.hostNetwork: the workers reach the scheduler from their nodes' addresses, which no podSelector matches; add the nodes' CIDRs as an ipBlock to networkPolicy.ingressFrom (or networkPolicy.enabled=false)" }}
{{- end }}
{{- end }}
{{- if and .Values.workers.gpu.enabled (eq (int .Values.workers.gpu.gpusPerPod) 0) }}
{{- if ne (len .Values.workers.gpu.nodeGpuCounts) (len (uniq .Values.workers.gpu.nodeGpuCounts)) }}
{{- fail "workers.gpu.nodeGpuCounts: a count is listed twice (two DaemonSets would run a worker each on the same nodes)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The scheduler's state claim: an existing one, or the chart's own. */}}
{{- define "shoal.stateClaimName" -}}
{{- default (printf "%s-state" (include "shoal.fullname" .)) .Values.scheduler.persistence.existingClaim }}
{{- end }}

{{/*
The GPU worker DaemonSets: one of gpusPerPod GPUs on every GPU node; or, with gpusPerPod 0 (all
of a node's GPUs), one per entry of nodeGpuCounts, on the nodes whose GPU count label has that
value. A resource request must be a number, so "all of this node's GPUs" is one DaemonSet per
node shape; each still asks the device plugin for its GPUs, which keeps them from other pods.
Returns a YAML list of {name, gpus, count} (count: the label value to select, "" for none).
*/}}
{{- define "shoal.gpuWorkerSets" -}}
{{- $g := .Values.workers.gpu }}
{{- $full := include "shoal.fullname" . }}
{{- $out := list }}
{{- if gt (int $g.gpusPerPod) 0 }}
{{- $out = append $out (dict "name" (printf "%s-gpu-worker" $full) "gpus" (int $g.gpusPerPod) "count" "") }}
{{- else }}
{{- range $g.nodeGpuCounts }}
{{- $out = append $out (dict "name" (printf "%s-gpu-worker-%d" $full (int .)) "gpus" (int .) "count" (toString (int .))) }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The workers' probe: `shoal workers` (the CLI is in the worker image) with the worker token must
list this worker ($SHOAL_WORKER_NAME) as alive. Pass "liveness" or "readiness": when the
scheduler cannot be reached (exit 3, or no answer within 10 s), liveness passes -- restarting
the worker would kill its ranks and not bring the scheduler back -- and readiness fails.
*/}}
{{- define "shoal.workerProbeScript" -}}
{{- $away := ternary "0" "1" (eq . "liveness") -}}
out=$(timeout 10 shoal workers 2>&1); rc=$?
case $rc in
  0) printf '%s\n' "$out" | awk -v n="$SHOAL_WORKER_NAME" '$2 == n && $3 == "alive" { ok = 1 } END { exit !ok }' && exit 0
     echo "the scheduler does not list $SHOAL_WORKER_NAME as alive"; exit 1 ;;
  3|124) echo "scheduler unreachable: $out"; exit {{ $away }} ;;
  *) echo "$out"; exit 1 ;;
esac
{{- end }}

{{/* The worker container, shared by the DaemonSets (gpu) and the Deployment (cpu). Pass a dict
with "ctx", "kind" ("gpu" or "cpu") and, for gpu, "set" (one of shoal.gpuWorkerSets). */}}
{{- define "shoal.workerPodSpec" -}}
{{- $ := .ctx }}
{{- $kind := .kind }}
{{- $gpus := 0 }}
{{- if eq $kind "gpu" }}{{ $gpus = int .set.gpus }}{{ end }}
{{- $dataVolume := or $.Values.workers.data.existingClaim $.Values.workers.data.hostPath }}
{{- $k := index $.Values.workers $kind }}
{{- $w := $.Values.workers }}
serviceAccountName: {{ include "shoal.serviceAccountName" $ }}
automountServiceAccountToken: false
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $k.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if and (eq $kind "gpu") $k.runtimeClassName }}
runtimeClassName: {{ $k.runtimeClassName }}
{{- end }}
terminationGracePeriodSeconds: {{ $w.terminationGracePeriodSeconds }}
{{- if $w.hostNetwork }}
# NCCL/Gloo on the node's interfaces; cluster DNS still resolves the scheduler's Service.
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
securityContext:
  {{- toYaml $w.podSecurityContext | nindent 2 }}
{{- with $w.initContainers }}
initContainers:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: worker
    image: {{ include "shoal.image" (dict "image" $w.image "ctx" $) }}
    imagePullPolicy: {{ $w.image.pullPolicy }}
    args:
      - --scheduler
      - {{ include "shoal.schedulerURL" $ | quote }}
      - --name
      - "$(SHOAL_WORKER_NAME)"
      - --token-file
      - /etc/shoal/tokens/worker-token
      {{- if include "shoal.mountCA" $ }}
      - --ca-file
      - /etc/shoal/ca/ca.crt
      {{- end }}
      - --slots
      - {{ ternary $gpus $k.slots (eq $kind "gpu") | quote }}
      {{- if $w.threadsPerRank }}
      - --threads-per-rank
      - {{ $w.threadsPerRank | quote }}
      {{- end }}
      - --work-dir
      - /var/lib/shoal-worker
      {{- if $dataVolume }}
      - --data-root
      - {{ $w.data.mountPath | quote }}
      {{- end }}
      {{- if eq $kind "cpu" }}
      - --no-gpu
      {{- end }}
      {{- range $w.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    env:
      # The worker's name in the pool: the node for the DaemonSet (a replaced pod takes its
      # place), the pod for the Deployment.
      - name: SHOAL_WORKER_NAME
        valueFrom:
          fieldRef:
            fieldPath: {{ ternary "spec.nodeName" "metadata.name" (eq $kind "gpu") }}
      - name: HOME
        value: /tmp
      # For the probes' `shoal workers` (the worker takes the same from its flags).
      - name: SHOAL_SCHEDULER
        value: {{ include "shoal.schedulerURL" $ | quote }}
      - name: SHOAL_TOKEN_FILE
        value: /etc/shoal/tokens/worker-token
      {{- if include "shoal.mountCA" $ }}
      - name: SHOAL_CA_FILE
        value: /etc/shoal/ca/ca.crt
      {{- end }}
      {{- with $w.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    livenessProbe:
      exec:
        command:
          - /bin/sh
          - -c
          - |
            {{- include "shoal.workerProbeScript" "liveness" | nindent 12 }}
      {{- toYaml $w.livenessProbe | nindent 6 }}
    readinessProbe:
      exec:
        command:
          - /bin/sh
          - -c
          - |
            {{- include "shoal.workerProbeScript" "readiness" | nindent 12 }}
      {{- toYaml $w.readinessProbe | nindent 6 }}
    securityContext:
      {{- toYaml $w.securityContext | nindent 6 }}
    resources:
      {{- if eq $kind "gpu" }}
      {{- $res := deepCopy ($k.resources | default dict) }}
      {{- $limits := get $res "limits" | default dict }}
      {{- $_ := set $limits $k.resourceName $gpus }}
      {{- $_ := set $res "limits" $limits }}
      {{- toYaml $res | nindent 6 }}
      {{- else }}
      {{- toYaml $k.resources | nindent 6 }}
      {{- end }}
    volumeMounts:
      - name: tokens
        mountPath: /etc/shoal/tokens
        readOnly: true
      {{- if include "shoal.mountCA" $ }}
      - name: ca
        mountPath: /etc/shoal/ca
        readOnly: true
      {{- end }}
      - name: work
        mountPath: /var/lib/shoal-worker
      - name: tmp
        mountPath: /tmp
      {{- if $w.shm.enabled }}
      - name: shm
        mountPath: /dev/shm
      {{- end }}
      {{- if $dataVolume }}
      - name: data
        mountPath: {{ $w.data.mountPath }}
        readOnly: {{ $w.data.readOnly }}
      {{- end }}
      {{- with $w.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  # Only the worker token: the workers never see the admin token.
  - name: tokens
    secret:
      secretName: {{ include "shoal.tokenSecretName" $ }}
      defaultMode: 0440
      items:
        - key: {{ $.Values.tokens.workerTokenKey }}
          path: worker-token
  {{- if include "shoal.mountCA" $ }}
  # Only the CA, never the server's private key.
  - name: ca
    secret:
      secretName: {{ include "shoal.caSecretName" $ }}
      defaultMode: 0444
      items:
        - key: {{ $.Values.tls.caKey }}
          path: ca.crt
  {{- end }}
  - name: work
    {{- if $w.workDirSizeLimit }}
    emptyDir:
      sizeLimit: {{ $w.workDirSizeLimit }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {}
  {{- if $w.shm.enabled }}
  - name: shm
    emptyDir:
      medium: Memory
      {{- if $w.shm.sizeLimit }}
      sizeLimit: {{ $w.shm.sizeLimit }}
      {{- end }}
  {{- end }}
  {{- if $dataVolume }}
  - name: data
    {{- if $w.data.existingClaim }}
    persistentVolumeClaim:
      claimName: {{ $w.data.existingClaim }}
      readOnly: {{ $w.data.readOnly }}
    {{- else }}
    # Asked for with workers.data.hostPath (Pod Security "baseline" forbids it).
    hostPath:
      path: {{ $w.data.hostPath }}
      {{- with $w.data.hostPathType }}
      type: {{ . }}
      {{- end }}
    {{- end }}
  {{- end }}
  {{- with $w.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $nodeSelector := deepCopy ($k.nodeSelector | default dict) }}
{{- if and (eq $kind "gpu") .set.count }}
{{- $_ := set $nodeSelector $k.gpuCountLabel .set.count }}
{{- end }}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $k.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $k.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Annotations that roll pods when what they read changes: the sha256 of the rendered ConfigMap and
Secrets (an existing Secret is referenced by name, and a new name changes the pod template).
*/}}
{{- define "shoal.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{- define "shoal.secretChecksum" -}}
{{- $tokens := include (print .Template.BasePath "/secret-tokens.yaml") . }}
{{- $tls := include (print .Template.BasePath "/secret-tls.yaml") . }}
{{- printf "%s\n---\n%s" $tokens $tls | sha256sum }}
{{- end }}

{{/* What the workers mount: their token and the CA (not the admin token, not the TLS key). */}}
{{- define "shoal.workerSecretChecksum" -}}
{{- $tokens := include "shoal.tokens" . | fromYaml }}
{{- $token := ternary (printf "existing:%s/%s" .Values.tokens.existingSecret .Values.tokens.workerTokenKey) $tokens.worker (not (empty .Values.tokens.existingSecret)) }}
{{- $ca := "" }}
{{- if include "shoal.mountCA" . }}
{{- $ca = printf "%s/%s/%s/%s" .Values.tls.existingSecret .Values.tls.caSecret .Values.tls.caKey .Values.tls.ca }}
{{- end }}
{{- printf "%s\n%s" $token $ca | sha256sum }}
{{- end }}

{{/* Egress rule for cluster DNS (any namespace, port 53). */}}
{{- define "shoal.dnsEgress" -}}
- to:
    - namespaceSelector: {}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
