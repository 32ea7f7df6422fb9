{{/* Names. */}}
{{- define "mcpmux.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcpmux.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The control plane's Deployment, Service, PDB, RBAC and Lease: <fullname>-control-plane. */}}
{{- define "mcpmux.controlPlane.name" -}}
{{- printf "%s-control-plane" (include "mcpmux.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcpmux.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpmux.controlPlane.name" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret of the requestState master keys, in the release namespace (the leader creates it; docs/security.md). */}}
{{- define "mcpmux.requestState.secretName" -}}
{{- printf "%s-request-state" (include "mcpmux.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret of the control plane's own CA (tls.mode ca). */}}
{{- define "mcpmux.ca.secretName" -}}
{{- default (printf "%s-ca" (include "mcpmux.fullname" .) | trunc 63 | trimSuffix "-") .Values.tls.caSecretName }}
{{- end }}

{{/* The names the control plane's gRPC certificate carries (tls.mode ca): its Service's, and loopback for port-forwards. */}}
{{- define "mcpmux.ca.names" -}}
{{- $svc := include "mcpmux.controlPlane.name" . -}}
{{- $ns := .Release.Namespace -}}
{{- printf "%s,%s.%s,%s.%s.svc,%s.%s.svc.cluster.local,localhost,127.0.0.1,::1" $svc $svc $ns $svc $ns $svc $ns }}
{{- end }}

{{/* The GatewayClass's parameters ConfigMap. */}}
{{- define "mcpmux.proxyDefaults.name" -}}
{{- printf "%s-proxy-defaults" (include "mcpmux.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcpmux.nats.name" -}}
{{- printf "%s-nats" (include "mcpmux.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* host:port proxies dial: the control plane Service's cluster DNS name. */}}
{{- define "mcpmux.controlPlane.address" -}}
{{- printf "%s.%s.svc:%d" (include "mcpmux.controlPlane.name" .) .Release.Namespace (int .Values.controlPlane.grpcPort) }}
{{- end }}

{{/* The NATS URL(s) proxies share sessions through: the chart's NATS, an external one, or none. */}}
{{- define "mcpmux.nats.url" -}}
{{- if .Values.nats.enabled }}
{{- printf "nats://%s.%s.svc:4222" (include "mcpmux.nats.name" .) .Release.Namespace }}
{{- else }}
{{- .Values.nats.url }}
{{- end }}
{{- end }}

{{/*
Copies JetStream keeps of what mcpmux stores in NATS (--nats-replicas, for the proxies and the control
plane's history): nats.streamReplicas, or 0 for 3 on the chart's NATS at 3+ replicas, else 1.
*/}}
{{- define "mcpmux.nats.streamReplicas" -}}
{{- $copies := int .Values.nats.streamReplicas }}
{{- if eq $copies 0 }}{{ $copies = ternary 3 1 (and .Values.nats.enabled (ge (int .Values.nats.replicas) 3)) }}{{ end }}
{{- $copies }}
{{- end }}

{{/* The NATS URL(s) of the control plane's history: controlPlane.history.nats.url, else the proxies'. */}}
{{- define "mcpmux.history.natsUrl" -}}
{{- default (include "mcpmux.nats.url" .) .Values.controlPlane.history.nats.url }}
{{- end }}

{{/*
Where the control plane's history lives: nats, file or memory. auto is nats whenever there is a NATS
to put it on (nats.enabled, nats.url or controlPlane.history.nats.url), else memory.
*/}}
{{- define "mcpmux.history.mode" -}}
{{- $mode := .Values.controlPlane.history.mode }}
{{- if eq $mode "auto" }}
{{- $mode = ternary "nats" "memory" (ne (include "mcpmux.history.natsUrl" .) "") }}
{{- end }}
{{- if and (eq $mode "nats") (eq (include "mcpmux.history.natsUrl" .) "") }}
{{- fail "controlPlane.history.mode nats needs a NATS with JetStream: set nats.enabled=true, nats.url or controlPlane.history.nats.url" }}
{{- end }}
{{- $mode }}
{{- end }}

{{/*
Control plane replicas actually run: controlPlane.replicas with a shared (NATS) history, else 1.
Never two replicas with private in-memory (or file) histories: each would list other versions.
*/}}
{{- define "mcpmux.controlPlane.replicas" -}}
{{- ternary (int .Values.controlPlane.replicas) 1 (eq (include "mcpmux.history.mode" .) "nats") }}
{{- end }}

{{/* The PVC of the history with controlPlane.history.mode file. */}}
{{- define "mcpmux.history.pvcName" -}}
{{- printf "%s-history" (include "mcpmux.controlPlane.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcpmux.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The GatewayClass names the control plane serves. */}}
{{- define "mcpmux.gatewayClasses" -}}
{{- join "," (uniq (prepend .Values.controlPlane.extraGatewayClasses .Values.gatewayClass.name)) }}
{{- end }}

{{- define "mcpmux.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: mcpmux
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mcpmux.controlPlane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpmux.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{- define "mcpmux.controlPlane.labels" -}}
{{ include "mcpmux.labels" . }}
{{ include "mcpmux.controlPlane.selectorLabels" . }}
{{- end }}

{{- define "mcpmux.nats.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpmux.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats
{{- end }}

{{- define "mcpmux.nats.labels" -}}
{{ include "mcpmux.labels" . }}
{{ include "mcpmux.nats.selectorLabels" . }}
{{- end }}

{{/*
The restricted Pod Security Standard, for the control plane and the test pod. The image gives node the
file capability cap_net_bind_service (so provisioned proxies bind port 80 as non-root): a container
that drops ALL without adding NET_BIND_SERVICE back could not execute node at all.
*/}}
{{- define "mcpmux.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "mcpmux.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  add: ["NET_BIND_SERVICE"]
{{- end }}
