{{/* Names and labels shared by every object of the chart. */}}

{{- define "kubecnn.name" -}}kubecnn-operator{{- end -}}

{{- define "kubecnn.serviceAccountName" -}}
{{- default (include "kubecnn.name" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "kubecnn.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "kubecnn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubecnn.name" . }}
{{- end -}}

{{- define "kubecnn.labels" -}}
{{ include "kubecnn.selectorLabels" . }}
app.kubernetes.io/part-of: kubecnn
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* NetworkPolicyPeers selecting the operator's own pods (its progress scraper reads the trainers' metrics). */}}
{{- define "kubecnn.operatorPeers" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .Release.Namespace }}
  podSelector:
    matchLabels:
      {{- include "kubecnn.selectorLabels" . | nindent 6 }}
{{- end -}}
