{{/* The release's full name: the release name, unless it already holds the chart's. */}}
{{- define "plattr.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "plattr.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "plattr.labels" -}}
{{ include "plattr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "plattr.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "plattr.fullname" .) -}}
{{- end -}}

{{/* The controller's environment: the chart's defaults (with keycloakAdminSecret, where the
controller finds Keycloak's admin credentials), overridden by .Values.env. */}}
{{- define "plattr.env" -}}
{{- $defaults := dict "LEADER_ELECTION" "true" "LEASE_NAMESPACE" .Release.Namespace "METRICS_PORT" (toString .Values.port) "DASHBOARD_AUTH" .Values.dashboard.auth "PLATTR_ENVIRONMENTS_FILE" "/etc/plattr/environments.yaml" -}}
{{- with .Values.keycloakAdminSecret -}}
{{- $_ := set $defaults "KEYCLOAK_ADMIN_SECRET" (printf "%s/%s" $.Release.Namespace .) -}}
{{- end -}}
{{- toYaml (merge (deepCopy .Values.env) $defaults) -}}
{{- end -}}

{{/* Where the leader Lease lives (the Role granting it is created there). */}}
{{- define "plattr.leaseNamespace" -}}
{{- (fromYaml (include "plattr.env" .)).LEASE_NAMESPACE -}}
{{- end -}}

{{/* The Secret with the dashboard's token (key `token`): the one named, or the chart's. */}}
{{- define "plattr.dashboardTokenSecret" -}}
{{- .Values.dashboard.tokenSecret | default (printf "%s-dashboard-token" (include "plattr.fullname" .)) -}}
{{- end -}}

{{/* The ConfigMap holding the environments declaration (key environments.yaml). */}}
{{- define "plattr.environmentsConfigMap" -}}
{{- printf "%s-environments" (include "plattr.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The declaration as the controller and the plugin read it: `environments:` and its list. */}}
{{- define "plattr.environmentsFile" -}}
{{- toYaml (dict "environments" .Values.environments) -}}
{{- end -}}

{{/* An environment's namespace: `namespace`, else its name. */}}
{{- define "plattr.environmentNamespace" -}}
{{- .namespace | default .name -}}
{{- end -}}
