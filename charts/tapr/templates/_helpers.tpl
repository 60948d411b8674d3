{{/*
Shared pieces of the tapr chart. Object names are Dapr's (spec §7); helpers named tapr.* are ours.
*/}}

{{/* The tag of tapr images: global.tag, else the chart's appVersion. */}}
{{- define "tapr.tag" -}}
{{- .Values.global.tag | default .Chart.AppVersion -}}
{{- end -}}

{{/* An image reference from a component's image name: a name with "/" is used as is (Dapr's rule). */}}
{{- define "tapr.image" -}}
{{- $name := index . 0 -}}
{{- $root := index . 1 -}}
{{- if contains "/" $name -}}
{{- $name -}}
{{- else -}}
{{- printf "%s/%s:%s" $root.Values.global.registry $name (include "tapr.tag" $root) -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object: app (Dapr's selector label) plus the recommended app.kubernetes.io set. */}}
{{- define "tapr.labels" -}}
{{- $app := index . 0 -}}
{{- $root := index . 1 -}}
app: {{ $app }}
app.kubernetes.io/name: {{ $app }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ include "tapr.tag" $root | quote }}
app.kubernetes.io/part-of: dapr
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- range $key, $value := $root.Values.global.k8sLabels }}
{{ $key }}: {{ tpl (toString $value) $root | quote }}
{{- end }}
{{- end -}}

{{/* Sentry's address as clients dial it. */}}
{{- define "tapr.sentryAddress" -}}
{{- .Values.global.mtls.sentryAddress | default (printf "dapr-sentry.%s.svc.cluster.local:443" .Release.Namespace) -}}
{{- end -}}

{{/* spiffe://<td>/ns/<ns>/dapr-sentry: the audience of the tokens control-plane services present to sentry. */}}
{{- define "tapr.sentryAudience" -}}
{{- printf "spiffe://%s/ns/%s/dapr-sentry" .Values.global.mtls.controlPlaneTrustDomain .Release.Namespace -}}
{{- end -}}

{{/* Replicas of a Deployment: global.ha.replicaCount in HA, else the component's replicaCount. */}}
{{- define "tapr.replicas" -}}
{{- $component := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $root.Values.global.ha.enabled -}}
{{- $root.Values.global.ha.replicaCount | int -}}
{{- else -}}
{{- $component.replicaCount | default 1 | int -}}
{{- end -}}
{{- end -}}

{{/* Whether placement runs as an HA set (Dapr: global.ha.enabled or dapr_placement.ha). */}}
{{- define "tapr.placementHa" -}}
{{- if or .Values.global.ha.enabled .Values.dapr_placement.ha -}}true{{- end -}}
{{- end -}}

{{/* Pod metadata shared by every control-plane pod. */}}
{{- define "tapr.podMetadata" -}}
{{- $app := index . 0 -}}
{{- $service := index . 1 -}}
{{- $root := index . 2 -}}
labels:
  {{- include "tapr.labels" (list $app $root) | nindent 2 }}
  {{- with $root.Values.global.labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  dapr.io/control-plane: {{ $service }}
  {{- if $root.Values.global.prometheus.enabled }}
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ $root.Values.global.prometheus.port | quote }}
  prometheus.io/path: /
  {{- end }}
{{- end -}}

{{/* Pod-level security context: non-root with a numeric user, the runtime's seccomp profile. */}}
{{- define "tapr.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .Values.global.runAsUser | int64 }}
  runAsGroup: {{ .Values.global.runAsGroup | int64 }}
  {{- with .Values.global.seccompProfile }}
  seccompProfile:
    type: {{ . }}
  {{- end }}
{{- end -}}

{{/* Container security context: nothing to escalate to, no capabilities, nothing writable in the image. */}}
{{- define "tapr.containerSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end -}}

{{/* Scheduling shared by every pod, plus a preferred spread of replicas in HA. */}}
{{- define "tapr.scheduling" -}}
{{- $app := index . 0 -}}
{{- $root := index . 1 -}}
{{- $ha := index . 2 -}}
{{- with $root.Values.global.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.global.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.global.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if $ha }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          labelSelector:
            matchLabels:
              app: {{ $app }}
          topologyKey: {{ $root.Values.global.ha.topologyKey }}
{{- end }}
{{- with $root.Values.global.imagePullSecrets }}
imagePullSecrets:
{{- if kindIs "string" . }}
  - name: {{ . }}
{{- else }}
{{- range . }}
{{- if kindIs "string" . }}
  - name: {{ . }}
{{- else }}
  - name: {{ .name }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Probes on the health port: liveness on /healthz (Dapr's), readiness on /readyz (also 503 while draining). */}}
{{- define "tapr.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: healthz
  initialDelaySeconds: 3
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: healthz
  initialDelaySeconds: 1
  periodSeconds: 3
  timeoutSeconds: 3
  failureThreshold: 3
{{- end -}}

{{/* --log-* and metrics flags every service takes (spec §11.2, Helm spellings §11.7). */}}
{{- define "tapr.commonArgs" -}}
{{- $component := index . 0 -}}
{{- $root := index . 1 -}}
{{- $healthzPort := index . 2 -}}
- --healthz-port
- {{ $healthzPort | quote }}
- --log-level
- {{ $component.logLevel | quote }}
{{- if $root.Values.global.logAsJson }}
- --log-as-json
{{- end }}
{{- if $root.Values.global.prometheus.enabled }}
- --enable-metrics
- --metrics-port
- {{ $root.Values.global.prometheus.port | quote }}
{{- else }}
- --enable-metrics=false
{{- end }}
{{- end -}}

{{/* Container ports every service has: health and (when on) metrics. */}}
{{- define "tapr.commonPorts" -}}
{{- $healthzPort := index . 0 -}}
{{- $root := index . 1 -}}
- name: healthz
  containerPort: {{ $healthzPort | int }}
  protocol: TCP
{{- if $root.Values.global.prometheus.enabled }}
- name: metrics
  containerPort: {{ $root.Values.global.prometheus.port | int }}
  protocol: TCP
{{- end }}
{{- end -}}

{{/* The metrics port of a Service (when on). */}}
{{- define "tapr.metricsServicePort" -}}
{{- if .Values.global.prometheus.enabled }}
- name: metrics
  port: {{ .Values.global.prometheus.port | int }}
  targetPort: metrics
  protocol: TCP
{{- end }}
{{- end -}}

{{/* NAMESPACE and POD_NAME from the downward API, then the component's extra variables. */}}
{{- define "tapr.commonEnv" -}}
{{- $component := index . 0 -}}
- name: NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- range $name, $value := $component.extraEnvVars }}
- name: {{ $name | quote }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Volumes of every service except sentry: the trust anchors (ConfigMap) and the token sentry validates. */}}
{{- define "tapr.identityVolumes" -}}
- name: dapr-trust-bundle
  configMap:
    name: dapr-trust-bundle
- name: dapr-identity-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 600
          audience: {{ include "tapr.sentryAudience" . | quote }}
{{- end -}}

{{- define "tapr.identityVolumeMounts" -}}
- name: dapr-trust-bundle
  mountPath: /var/run/secrets/dapr.io/tls
  readOnly: true
- name: dapr-identity-token
  mountPath: /var/run/secrets/dapr.io/sentrytoken
  readOnly: true
{{- end -}}

{{/* A PodDisruptionBudget for an HA component. */}}
{{- define "tapr.pdb" -}}
{{- $name := index . 0 -}}
{{- $app := index . 1 -}}
{{- $root := index . 2 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tapr.labels" (list $app $root) | nindent 4 }}
spec:
  {{- with $root.Values.global.ha.disruption }}
  {{- if .minimumAvailable }}
  minAvailable: {{ .minimumAvailable }}
  {{- else }}
  maxUnavailable: {{ .maximumUnavailable | default "25%" }}
  {{- end }}
  {{- end }}
  selector:
    matchLabels:
      app: {{ $app }}
{{- end -}}

{{/* Dapr's --initial-cluster for an HA placement set: <pod>=<pod>.dapr-placement-server.<ns>.svc<suffix>:8201. */}}
{{- define "tapr.placementPeers" -}}
{{- $replicas := index . 0 -}}
{{- $root := index . 1 -}}
{{- $peers := list -}}
{{- range $i := until ($replicas | int) -}}
{{- $pod := printf "dapr-placement-server-%d" $i -}}
{{- $peers = append $peers (printf "%s=%s.dapr-placement-server.%s.svc%s:8201" $pod $pod $root.Release.Namespace $root.Values.global.dnsSuffix) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* Dapr's --etcd-initial-cluster of the scheduler: <pod>=https://<pod>.dapr-scheduler-server.<ns>.svc<suffix>:<peer port>. */}}
{{- define "tapr.schedulerPeers" -}}
{{- $replicas := index . 0 -}}
{{- $root := index . 1 -}}
{{- $peers := list -}}
{{- range $i := until ($replicas | int) -}}
{{- $pod := printf "dapr-scheduler-server-%d" $i -}}
{{- $peers = append $peers (printf "%s=https://%s.dapr-scheduler-server.%s.svc%s:%d" $pod $pod $root.Release.Namespace $root.Values.global.dnsSuffix ($root.Values.dapr_scheduler.ports.etcdGRPCPeerPort | int)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* The etcd ports of both scheduler Services. */}}
{{- define "tapr.schedulerEtcdServicePorts" -}}
- name: etcd-client
  port: {{ .Values.dapr_scheduler.ports.etcdGRPCClientPort | int }}
  targetPort: etcd-client
  protocol: TCP
- name: etcd-peer
  port: {{ .Values.dapr_scheduler.ports.etcdGRPCPeerPort | int }}
  targetPort: etcd-peer
  protocol: TCP
{{- end -}}

{{/* Annotations of both scheduler Services, as Dapr's: prometheus.io/* (when metrics are on) and service.annotations. */}}
{{- define "tapr.schedulerServiceAnnotations" -}}
{{- $extra := .Values.dapr_scheduler.service.annotations -}}
{{- if or .Values.global.prometheus.enabled $extra -}}
annotations:
  {{- if .Values.global.prometheus.enabled }}
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ .Values.global.prometheus.port | quote }}
  prometheus.io/path: /
  {{- end }}
  {{- with $extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end -}}
