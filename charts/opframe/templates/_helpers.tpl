{{- define "opframe.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "opframe.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "opframe.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "opframe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opframe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "opframe.leaderElection" -}}
{{- $le := .Values.leaderElection.enabled -}}
{{- if eq (toString $le) "auto" -}}{{- if gt (int .Values.replicas) 1 -}}true{{- else -}}false{{- end -}}
{{- else -}}{{- toString $le -}}{{- end -}}
{{- end -}}

{{/* The namespaces whose Roles the operator needs: the ones named, or the release's. */}}
{{- define "opframe.namespaces" -}}
{{- if .Values.namespaces -}}{{- join "," .Values.namespaces -}}{{- else -}}{{- .Release.Namespace -}}{{- end -}}
{{- end -}}

{{/* The webhook configurations' name (three dot-separated parts at least, as the API server wants). */}}
{{- define "opframe.webhookConfigurationName" -}}
{{- default (printf "%s.%s.opframe.dev" (include "opframe.fullname" .) .Release.Namespace) .Values.webhooks.configurationName -}}
{{- end -}}

{{/* The ClusterRole for the webhook configurations; it also owns them (and the CA Secret), so that
     helm uninstall takes them away through the garbage collector. */}}
{{- define "opframe.webhookClusterRole" -}}
{{- printf "%s-%s-webhooks" (include "opframe.fullname" .) .Release.Namespace -}}
{{- end -}}
