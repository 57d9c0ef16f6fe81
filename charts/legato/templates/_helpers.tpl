{{/*
Names and labels shared by every template.

legato.fullname: the operator's objects are "<release>-operator" when the
release name already says "legato" (release "legato" gives "legato-operator",
the name the kubectl manifests in operator/deploy/ use), else
"<release>-legato-operator".
*/}}
{{- define "legato.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "legato" .Release.Name -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-legato-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "legato.selectorLabels" -}}
app.kubernetes.io/name: legato-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "legato.labels" -}}
{{ include "legato.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "legato.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "legato.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "legato.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The kopf peering object: one per release, so two releases never pause each other. */}}
{{- define "legato.peering" -}}
{{- include "legato.fullname" . -}}
{{- end -}}

{{/*
legato.crdsReady: "true" when the API server already serves LegatoCluster
(or `helm template --api-versions legato.dev/v1alpha1/LegatoCluster`). Helm
builds every object of a release before creating any, so a LegatoCluster in
the same install as its CRD fails with "no matches for kind"; it is rendered
only once the CRD exists (a later `helm upgrade`).
*/}}
{{- define "legato.crdsReady" -}}
{{- if .Capabilities.APIVersions.Has "legato.dev/v1alpha1/LegatoCluster" -}}true{{- end -}}
{{- end -}}
