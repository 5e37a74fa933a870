// Field-number tables of the Kubernetes protobuf messages skiff decodes, kept as data.
//
// Numbers are transcribed from the `generated.proto` files of k8s.io/api (core/v1, apps/v1,
// batch/v1) and k8s.io/apimachinery (pkg/apis/meta/v1, pkg/runtime, pkg/util/intstr,
// pkg/api/resource) — field numbers never change once published, so newer fields only add
// entries. Field names are the JSON names. A field number missing from a table is an
// unknown field: the decoder skips it by wire type, as protobuf requires.
//
// `ptr: true` marks fields that are Go pointers (`*int32`, `*bool`, `*string`, ...). Kubernetes'
// generated marshallers always write non-pointer scalars, so a zero value on the wire means
// "unset" for those (JSON would have omitted it); for pointer fields presence means set, even
// when the value is 0, false or "". Messages are always kept (an empty message is `{}`), except
// Time, which marshals its zero value as an empty payload (JSON null).
//
// Special messages decoded to JSON scalars: Time/MicroTime (RFC 3339 strings), IntOrString
// (number or string), Quantity (string), FieldsV1 (the raw JSON it carries).

export type ScalarType = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'double' | 'float';
export type SpecialMessage = 'Time' | 'MicroTime' | 'IntOrString' | 'Quantity' | 'FieldsV1';

export interface ScalarField {
  name: string;
  type: ScalarType;
  repeated?: true;
  ptr?: true;
}
export interface MessageField {
  name: string;
  type: 'message';
  message: string;
  repeated?: true;
  ptr?: true;
  /** Go embeds the struct inline (`json:",inline"`): its fields land in the parent JSON object */
  inline?: true;
}
export interface MapField {
  name: string;
  type: 'map';
  key: 'string';
  value: 'string' | 'bytes' | { message: string };
}
export type FieldSpec = ScalarField | MessageField | MapField;
export type MessageTable = Readonly<Record<number, FieldSpec>>;

// ---- notation ---------------------------------------------------------------------

const str = (name: string): ScalarField => ({ name, type: 'string' });
const strP = (name: string): ScalarField => ({ name, type: 'string', ptr: true });
const strs = (name: string): ScalarField => ({ name, type: 'string', repeated: true });
const i32 = (name: string): ScalarField => ({ name, type: 'int32' });
const i32P = (name: string): ScalarField => ({ name, type: 'int32', ptr: true });
const i32s = (name: string): ScalarField => ({ name, type: 'int32', repeated: true });
const i64 = (name: string): ScalarField => ({ name, type: 'int64' });
const i64P = (name: string): ScalarField => ({ name, type: 'int64', ptr: true });
const i64s = (name: string): ScalarField => ({ name, type: 'int64', repeated: true });
const bool = (name: string): ScalarField => ({ name, type: 'bool' });
const boolP = (name: string): ScalarField => ({ name, type: 'bool', ptr: true });
const msg = (name: string, message: string): MessageField => ({ name, type: 'message', message });
const msgP = (name: string, message: string): MessageField => ({ name, type: 'message', message, ptr: true });
const msgs = (name: string, message: string): MessageField => ({ name, type: 'message', message, repeated: true });
const inline = (name: string, message: string): MessageField => ({ name, type: 'message', message, inline: true });
const mapStr = (name: string): MapField => ({ name, type: 'map', key: 'string', value: 'string' });
const mapBytes = (name: string): MapField => ({ name, type: 'map', key: 'string', value: 'bytes' });
const mapQty = (name: string): MapField => ({ name, type: 'map', key: 'string', value: { message: 'Quantity' } });
const time = (name: string): MessageField => msg(name, 'Time');
const meta = msg('metadata', 'ObjectMeta');

// ---- the tables -------------------------------------------------------------------

export const MESSAGES: Readonly<Record<string, MessageTable>> = {
  // -- k8s.io/apimachinery/pkg/runtime -------------------------------------------
  Unknown: {
    1: msg('typeMeta', 'TypeMeta'),
    2: { name: 'raw', type: 'bytes' },
    3: str('contentEncoding'),
    4: str('contentType'),
  },
  TypeMeta: { 1: str('apiVersion'), 2: str('kind') },

  // -- special messages (decoded to scalars by the decoder; tables give their layout) --
  Time: { 1: i64('seconds'), 2: i32('nanos') },
  MicroTime: { 1: i64('seconds'), 2: i32('nanos') },
  IntOrString: { 1: i64('type'), 2: i32('intVal'), 3: str('strVal') },
  Quantity: { 1: str('string') },
  FieldsV1: { 1: { name: 'Raw', type: 'bytes' } },

  // -- k8s.io/apimachinery/pkg/apis/meta/v1 --------------------------------------
  ObjectMeta: {
    1: str('name'),
    2: str('generateName'),
    3: str('namespace'),
    4: str('selfLink'),
    5: str('uid'),
    6: str('resourceVersion'),
    7: i64('generation'),
    8: time('creationTimestamp'),
    9: time('deletionTimestamp'),
    10: i64P('deletionGracePeriodSeconds'),
    11: mapStr('labels'),
    12: mapStr('annotations'),
    13: msgs('ownerReferences', 'OwnerReference'),
    14: strs('finalizers'),
    17: msgs('managedFields', 'ManagedFieldsEntry'),
  },
  OwnerReference: {
    5: str('apiVersion'),
    1: str('kind'),
    3: str('name'),
    4: str('uid'),
    6: boolP('controller'),
    7: boolP('blockOwnerDeletion'),
  },
  ManagedFieldsEntry: {
    1: str('manager'),
    2: str('operation'),
    3: str('apiVersion'),
    4: time('time'),
    6: str('fieldsType'),
    7: msgP('fieldsV1', 'FieldsV1'),
    8: str('subresource'),
  },
  LabelSelector: { 1: mapStr('matchLabels'), 2: msgs('matchExpressions', 'LabelSelectorRequirement') },
  LabelSelectorRequirement: { 1: str('key'), 2: str('operator'), 3: strs('values') },
  Condition: {
    1: str('type'),
    2: str('status'),
    3: i64('observedGeneration'),
    4: time('lastTransitionTime'),
    5: str('reason'),
    6: str('message'),
  },
  DeleteOptions: {
    1: i64P('gracePeriodSeconds'),
    2: msgP('preconditions', 'Preconditions'),
    3: boolP('orphanDependents'),
    4: strP('propagationPolicy'),
    5: strs('dryRun'),
  },
  Preconditions: { 1: strP('uid'), 2: strP('resourceVersion') },

  // -- k8s.io/api/core/v1: top-level kinds ---------------------------------------
  Namespace: { 1: meta, 2: msg('spec', 'NamespaceSpec'), 3: msg('status', 'NamespaceStatus') },
  NamespaceSpec: { 1: strs('finalizers') },
  NamespaceStatus: { 1: str('phase'), 2: msgs('conditions', 'NamespaceCondition') },
  NamespaceCondition: {
    1: str('type'),
    2: str('status'),
    4: time('lastTransitionTime'),
    5: str('reason'),
    6: str('message'),
  },
  ConfigMap: { 1: meta, 4: boolP('immutable'), 2: mapStr('data'), 3: mapBytes('binaryData') },
  Secret: { 1: meta, 5: boolP('immutable'), 2: mapBytes('data'), 4: mapStr('stringData'), 3: str('type') },
  ServiceAccount: {
    1: meta,
    2: msgs('secrets', 'ObjectReference'),
    3: msgs('imagePullSecrets', 'LocalObjectReference'),
    4: boolP('automountServiceAccountToken'),
  },
  Service: { 1: meta, 2: msg('spec', 'ServiceSpec'), 3: msg('status', 'ServiceStatus') },
  Pod: { 1: meta, 2: msg('spec', 'PodSpec') /* 3: status is not decoded (ignored on create) */ },
  PersistentVolumeClaim: {
    1: meta,
    2: msg('spec', 'PersistentVolumeClaimSpec'),
    3: msg('status', 'PersistentVolumeClaimStatus'),
  },
  // kubectl create quota
  ResourceQuota: { 1: meta, 2: msg('spec', 'ResourceQuotaSpec'), 3: msg('status', 'ResourceQuotaStatus') },
  ResourceQuotaSpec: { 1: mapQty('hard'), 2: strs('scopes'), 3: msgP('scopeSelector', 'ScopeSelector') },
  ResourceQuotaStatus: { 1: mapQty('hard'), 2: mapQty('used') },
  ScopeSelector: { 1: msgs('matchExpressions', 'ScopedResourceSelectorRequirement') },
  ScopedResourceSelectorRequirement: { 1: str('scopeName'), 2: str('operator'), 3: strs('values') },

  // -- core/v1: references -------------------------------------------------------
  ObjectReference: {
    1: str('kind'),
    2: str('namespace'),
    3: str('name'),
    4: str('uid'),
    5: str('apiVersion'),
    6: str('resourceVersion'),
    7: str('fieldPath'),
  },
  LocalObjectReference: { 1: str('name') },
  TypedLocalObjectReference: { 1: strP('apiGroup'), 2: str('kind'), 3: str('name') },
  TypedObjectReference: { 1: strP('apiGroup'), 2: str('kind'), 3: str('name'), 4: strP('namespace') },

  // -- core/v1: Service ------------------------------------------------------------
  ServiceSpec: {
    1: msgs('ports', 'ServicePort'),
    2: mapStr('selector'),
    3: str('clusterIP'),
    18: strs('clusterIPs'),
    4: str('type'),
    5: strs('externalIPs'),
    7: str('sessionAffinity'),
    8: str('loadBalancerIP'),
    9: strs('loadBalancerSourceRanges'),
    10: str('externalName'),
    11: str('externalTrafficPolicy'),
    12: i32('healthCheckNodePort'),
    13: bool('publishNotReadyAddresses'),
    14: msgP('sessionAffinityConfig', 'SessionAffinityConfig'),
    19: strs('ipFamilies'),
    17: strP('ipFamilyPolicy'),
    20: boolP('allocateLoadBalancerNodePorts'),
    21: strP('loadBalancerClass'),
    22: strP('internalTrafficPolicy'),
  },
  ServicePort: {
    1: str('name'),
    2: str('protocol'),
    6: strP('appProtocol'),
    3: i32('port'),
    4: msg('targetPort', 'IntOrString'),
    5: i32('nodePort'),
  },
  SessionAffinityConfig: { 1: msgP('clientIP', 'ClientIPConfig') },
  ClientIPConfig: { 1: i32P('timeoutSeconds') },
  ServiceStatus: { 1: msg('loadBalancer', 'LoadBalancerStatus'), 2: msgs('conditions', 'Condition') },
  LoadBalancerStatus: { 1: msgs('ingress', 'LoadBalancerIngress') },
  LoadBalancerIngress: { 1: str('ip'), 2: str('hostname'), 4: msgs('ports', 'PortStatus') },
  PortStatus: { 1: i32('port'), 2: str('protocol'), 3: strP('error') },

  // -- core/v1: pod templates -----------------------------------------------------
  PodTemplateSpec: { 1: meta, 2: msg('spec', 'PodSpec') },
  PodSpec: {
    1: msgs('volumes', 'Volume'),
    20: msgs('initContainers', 'Container'),
    2: msgs('containers', 'Container'),
    34: msgs('ephemeralContainers', 'EphemeralContainer'),
    3: str('restartPolicy'),
    4: i64P('terminationGracePeriodSeconds'),
    5: i64P('activeDeadlineSeconds'),
    6: str('dnsPolicy'),
    7: mapStr('nodeSelector'),
    8: str('serviceAccountName'),
    9: str('serviceAccount'),
    21: boolP('automountServiceAccountToken'),
    10: str('nodeName'),
    11: bool('hostNetwork'),
    12: bool('hostPID'),
    13: bool('hostIPC'),
    27: boolP('shareProcessNamespace'),
    14: msgP('securityContext', 'PodSecurityContext'),
    15: msgs('imagePullSecrets', 'LocalObjectReference'),
    16: str('hostname'),
    17: str('subdomain'),
    18: msgP('affinity', 'Affinity'),
    19: str('schedulerName'),
    22: msgs('tolerations', 'Toleration'),
    23: msgs('hostAliases', 'HostAlias'),
    24: str('priorityClassName'),
    25: i32P('priority'),
    26: msgP('dnsConfig', 'PodDNSConfig'),
    28: msgs('readinessGates', 'PodReadinessGate'),
    29: strP('runtimeClassName'),
    30: boolP('enableServiceLinks'),
    31: strP('preemptionPolicy'),
    32: mapQty('overhead'),
    33: msgs('topologySpreadConstraints', 'TopologySpreadConstraint'),
    35: boolP('setHostnameAsFQDN'),
    36: msgP('os', 'PodOS'),
    37: boolP('hostUsers'),
    38: msgs('schedulingGates', 'PodSchedulingGate'),
  },
  Container: {
    1: str('name'),
    2: str('image'),
    3: strs('command'),
    4: strs('args'),
    5: str('workingDir'),
    6: msgs('ports', 'ContainerPort'),
    19: msgs('envFrom', 'EnvFromSource'),
    7: msgs('env', 'EnvVar'),
    8: msg('resources', 'ResourceRequirements'),
    9: msgs('volumeMounts', 'VolumeMount'),
    21: msgs('volumeDevices', 'VolumeDevice'),
    10: msgP('livenessProbe', 'Probe'),
    11: msgP('readinessProbe', 'Probe'),
    22: msgP('startupProbe', 'Probe'),
    12: msgP('lifecycle', 'Lifecycle'),
    13: str('terminationMessagePath'),
    20: str('terminationMessagePolicy'),
    14: str('imagePullPolicy'),
    15: msgP('securityContext', 'SecurityContext'),
    16: bool('stdin'),
    17: bool('stdinOnce'),
    18: bool('tty'),
    24: strP('restartPolicy'),
  },
  // EphemeralContainerCommon has exactly Container's field numbers, embedded inline
  EphemeralContainer: { 1: inline('ephemeralContainerCommon', 'Container'), 2: str('targetContainerName') },
  ContainerPort: { 1: str('name'), 2: i32('hostPort'), 3: i32('containerPort'), 4: str('protocol'), 5: str('hostIP') },
  EnvFromSource: {
    1: str('prefix'),
    2: msgP('configMapRef', 'ConfigMapEnvSource'),
    3: msgP('secretRef', 'SecretEnvSource'),
  },
  ConfigMapEnvSource: { 1: inline('localObjectReference', 'LocalObjectReference'), 2: boolP('optional') },
  SecretEnvSource: { 1: inline('localObjectReference', 'LocalObjectReference'), 2: boolP('optional') },
  EnvVar: { 1: str('name'), 2: str('value'), 3: msgP('valueFrom', 'EnvVarSource') },
  EnvVarSource: {
    1: msgP('fieldRef', 'ObjectFieldSelector'),
    2: msgP('resourceFieldRef', 'ResourceFieldSelector'),
    3: msgP('configMapKeyRef', 'ConfigMapKeySelector'),
    4: msgP('secretKeyRef', 'SecretKeySelector'),
  },
  ObjectFieldSelector: { 1: str('apiVersion'), 2: str('fieldPath') },
  ResourceFieldSelector: { 1: str('containerName'), 2: str('resource'), 3: msg('divisor', 'Quantity') },
  ConfigMapKeySelector: {
    1: inline('localObjectReference', 'LocalObjectReference'),
    2: str('key'),
    3: boolP('optional'),
  },
  SecretKeySelector: { 1: inline('localObjectReference', 'LocalObjectReference'), 2: str('key'), 3: boolP('optional') },
  ResourceRequirements: { 1: mapQty('limits'), 2: mapQty('requests'), 3: msgs('claims', 'ResourceClaim') },
  ResourceClaim: { 1: str('name') },
  VolumeMount: {
    1: str('name'),
    2: bool('readOnly'),
    3: str('mountPath'),
    4: str('subPath'),
    5: strP('mountPropagation'),
    6: str('subPathExpr'),
  },
  VolumeDevice: { 1: str('name'), 2: str('devicePath') },

  // probes and lifecycle hooks
  Probe: {
    1: inline('handler', 'ProbeHandler'),
    2: i32('initialDelaySeconds'),
    3: i32('timeoutSeconds'),
    4: i32('periodSeconds'),
    5: i32('successThreshold'),
    6: i32('failureThreshold'),
    7: i64P('terminationGracePeriodSeconds'),
  },
  ProbeHandler: {
    1: msgP('exec', 'ExecAction'),
    2: msgP('httpGet', 'HTTPGetAction'),
    3: msgP('tcpSocket', 'TCPSocketAction'),
    4: msgP('grpc', 'GRPCAction'),
  },
  ExecAction: { 1: strs('command') },
  HTTPGetAction: {
    1: str('path'),
    2: msg('port', 'IntOrString'),
    3: str('host'),
    4: str('scheme'),
    5: msgs('httpHeaders', 'HTTPHeader'),
  },
  HTTPHeader: { 1: str('name'), 2: str('value') },
  TCPSocketAction: { 1: msg('port', 'IntOrString'), 2: str('host') },
  GRPCAction: { 1: i32('port'), 2: strP('service') },
  Lifecycle: { 1: msgP('postStart', 'LifecycleHandler'), 2: msgP('preStop', 'LifecycleHandler') },
  LifecycleHandler: {
    1: msgP('exec', 'ExecAction'),
    2: msgP('httpGet', 'HTTPGetAction'),
    3: msgP('tcpSocket', 'TCPSocketAction'),
  },

  // security
  SecurityContext: {
    1: msgP('capabilities', 'Capabilities'),
    2: boolP('privileged'),
    3: msgP('seLinuxOptions', 'SELinuxOptions'),
    10: msgP('windowsOptions', 'WindowsSecurityContextOptions'),
    4: i64P('runAsUser'),
    8: i64P('runAsGroup'),
    5: boolP('runAsNonRoot'),
    6: boolP('readOnlyRootFilesystem'),
    7: boolP('allowPrivilegeEscalation'),
    9: strP('procMount'),
    11: msgP('seccompProfile', 'SeccompProfile'),
  },
  PodSecurityContext: {
    1: msgP('seLinuxOptions', 'SELinuxOptions'),
    8: msgP('windowsOptions', 'WindowsSecurityContextOptions'),
    2: i64P('runAsUser'),
    6: i64P('runAsGroup'),
    3: boolP('runAsNonRoot'),
    4: i64s('supplementalGroups'),
    5: i64P('fsGroup'),
    7: msgs('sysctls', 'Sysctl'),
    9: strP('fsGroupChangePolicy'),
    10: msgP('seccompProfile', 'SeccompProfile'),
  },
  Capabilities: { 1: strs('add'), 2: strs('drop') },
  SELinuxOptions: { 1: str('user'), 2: str('role'), 3: str('type'), 4: str('level') },
  WindowsSecurityContextOptions: {
    1: strP('gmsaCredentialSpecName'),
    2: strP('gmsaCredentialSpec'),
    3: strP('runAsUserName'),
    4: boolP('hostProcess'),
  },
  SeccompProfile: { 1: str('type'), 2: strP('localhostProfile') },
  Sysctl: { 1: str('name'), 2: str('value') },

  // scheduling
  Toleration: { 1: str('key'), 2: str('operator'), 3: str('value'), 4: str('effect'), 5: i64P('tolerationSeconds') },
  HostAlias: { 1: str('ip'), 2: strs('hostnames') },
  PodDNSConfig: { 1: strs('nameservers'), 2: strs('searches'), 3: msgs('options', 'PodDNSConfigOption') },
  PodDNSConfigOption: { 1: str('name'), 2: strP('value') },
  PodReadinessGate: { 1: str('conditionType') },
  PodOS: { 1: str('name') },
  PodSchedulingGate: { 1: str('name') },
  TopologySpreadConstraint: {
    1: i32('maxSkew'),
    2: str('topologyKey'),
    3: str('whenUnsatisfiable'),
    4: msgP('labelSelector', 'LabelSelector'),
    5: i32P('minDomains'),
    6: strP('nodeAffinityPolicy'),
    7: strP('nodeTaintsPolicy'),
    8: strs('matchLabelKeys'),
  },
  Affinity: {
    1: msgP('nodeAffinity', 'NodeAffinity'),
    2: msgP('podAffinity', 'PodAffinity'),
    3: msgP('podAntiAffinity', 'PodAntiAffinity'),
  },
  NodeAffinity: {
    1: msgP('requiredDuringSchedulingIgnoredDuringExecution', 'NodeSelector'),
    2: msgs('preferredDuringSchedulingIgnoredDuringExecution', 'PreferredSchedulingTerm'),
  },
  NodeSelector: { 1: msgs('nodeSelectorTerms', 'NodeSelectorTerm') },
  NodeSelectorTerm: {
    1: msgs('matchExpressions', 'NodeSelectorRequirement'),
    2: msgs('matchFields', 'NodeSelectorRequirement'),
  },
  NodeSelectorRequirement: { 1: str('key'), 2: str('operator'), 3: strs('values') },
  PreferredSchedulingTerm: { 1: i32('weight'), 2: msg('preference', 'NodeSelectorTerm') },
  PodAffinity: {
    1: msgs('requiredDuringSchedulingIgnoredDuringExecution', 'PodAffinityTerm'),
    2: msgs('preferredDuringSchedulingIgnoredDuringExecution', 'WeightedPodAffinityTerm'),
  },
  PodAntiAffinity: {
    1: msgs('requiredDuringSchedulingIgnoredDuringExecution', 'PodAffinityTerm'),
    2: msgs('preferredDuringSchedulingIgnoredDuringExecution', 'WeightedPodAffinityTerm'),
  },
  PodAffinityTerm: {
    1: msgP('labelSelector', 'LabelSelector'),
    2: strs('namespaces'),
    3: str('topologyKey'),
    4: msgP('namespaceSelector', 'LabelSelector'),
  },
  WeightedPodAffinityTerm: { 1: i32('weight'), 2: msg('podAffinityTerm', 'PodAffinityTerm') },

  // volumes (VolumeSource is embedded inline in Volume)
  Volume: { 1: str('name'), 2: inline('volumeSource', 'VolumeSource') },
  VolumeSource: {
    1: msgP('hostPath', 'HostPathVolumeSource'),
    2: msgP('emptyDir', 'EmptyDirVolumeSource'),
    5: msgP('gitRepo', 'GitRepoVolumeSource'),
    6: msgP('secret', 'SecretVolumeSource'),
    7: msgP('nfs', 'NFSVolumeSource'),
    10: msgP('persistentVolumeClaim', 'PersistentVolumeClaimVolumeSource'),
    16: msgP('downwardAPI', 'DownwardAPIVolumeSource'),
    19: msgP('configMap', 'ConfigMapVolumeSource'),
    26: msgP('projected', 'ProjectedVolumeSource'),
    28: msgP('csi', 'CSIVolumeSource'),
    29: msgP('ephemeral', 'EphemeralVolumeSource'),
  },
  HostPathVolumeSource: { 1: str('path'), 2: strP('type') },
  EmptyDirVolumeSource: { 1: str('medium'), 2: msgP('sizeLimit', 'Quantity') },
  GitRepoVolumeSource: { 1: str('repository'), 2: str('revision'), 3: str('directory') },
  SecretVolumeSource: {
    1: str('secretName'),
    2: msgs('items', 'KeyToPath'),
    3: i32P('defaultMode'),
    4: boolP('optional'),
  },
  ConfigMapVolumeSource: {
    1: inline('localObjectReference', 'LocalObjectReference'),
    2: msgs('items', 'KeyToPath'),
    3: i32P('defaultMode'),
    4: boolP('optional'),
  },
  KeyToPath: { 1: str('key'), 2: str('path'), 3: i32P('mode') },
  NFSVolumeSource: { 1: str('server'), 2: str('path'), 3: bool('readOnly') },
  PersistentVolumeClaimVolumeSource: { 1: str('claimName'), 2: bool('readOnly') },
  DownwardAPIVolumeSource: { 1: msgs('items', 'DownwardAPIVolumeFile'), 2: i32P('defaultMode') },
  DownwardAPIVolumeFile: {
    1: str('path'),
    2: msgP('fieldRef', 'ObjectFieldSelector'),
    3: msgP('resourceFieldRef', 'ResourceFieldSelector'),
    4: i32P('mode'),
  },
  ProjectedVolumeSource: { 1: msgs('sources', 'VolumeProjection'), 2: i32P('defaultMode') },
  VolumeProjection: {
    1: msgP('secret', 'SecretProjection'),
    2: msgP('downwardAPI', 'DownwardAPIProjection'),
    3: msgP('configMap', 'ConfigMapProjection'),
    4: msgP('serviceAccountToken', 'ServiceAccountTokenProjection'),
  },
  SecretProjection: {
    1: inline('localObjectReference', 'LocalObjectReference'),
    2: msgs('items', 'KeyToPath'),
    4: boolP('optional'),
  },
  ConfigMapProjection: {
    1: inline('localObjectReference', 'LocalObjectReference'),
    2: msgs('items', 'KeyToPath'),
    4: boolP('optional'),
  },
  DownwardAPIProjection: { 1: msgs('items', 'DownwardAPIVolumeFile') },
  ServiceAccountTokenProjection: { 1: str('audience'), 2: i64P('expirationSeconds'), 3: str('path') },
  CSIVolumeSource: {
    1: str('driver'),
    2: boolP('readOnly'),
    3: strP('fsType'),
    4: mapStr('volumeAttributes'),
    5: msgP('nodePublishSecretRef', 'LocalObjectReference'),
  },
  EphemeralVolumeSource: { 1: msgP('volumeClaimTemplate', 'PersistentVolumeClaimTemplate') },
  PersistentVolumeClaimTemplate: { 1: meta, 2: msg('spec', 'PersistentVolumeClaimSpec') },
  PersistentVolumeClaimSpec: {
    1: strs('accessModes'),
    4: msgP('selector', 'LabelSelector'),
    2: msg('resources', 'ResourceRequirements'),
    3: str('volumeName'),
    5: strP('storageClassName'),
    6: strP('volumeMode'),
    7: msgP('dataSource', 'TypedLocalObjectReference'),
    8: msgP('dataSourceRef', 'TypedObjectReference'),
  },
  PersistentVolumeClaimStatus: {
    1: str('phase'),
    2: strs('accessModes'),
    3: mapQty('capacity'),
    4: msgs('conditions', 'PersistentVolumeClaimCondition'),
  },
  PersistentVolumeClaimCondition: {
    1: str('type'),
    2: str('status'),
    3: time('lastProbeTime'),
    4: time('lastTransitionTime'),
    5: str('reason'),
    6: str('message'),
  },

  // -- k8s.io/api/apps/v1 --------------------------------------------------------
  Deployment: { 1: meta, 2: msg('spec', 'DeploymentSpec'), 3: msg('status', 'DeploymentStatus') },
  DeploymentSpec: {
    1: i32P('replicas'),
    2: msgP('selector', 'LabelSelector'),
    3: msg('template', 'PodTemplateSpec'),
    4: msg('strategy', 'DeploymentStrategy'),
    5: i32('minReadySeconds'),
    6: i32P('revisionHistoryLimit'),
    7: bool('paused'),
    9: i32P('progressDeadlineSeconds'),
  },
  DeploymentStrategy: { 1: str('type'), 2: msgP('rollingUpdate', 'RollingUpdateDeployment') },
  RollingUpdateDeployment: { 1: msgP('maxUnavailable', 'IntOrString'), 2: msgP('maxSurge', 'IntOrString') },
  DeploymentStatus: {
    1: i64('observedGeneration'),
    2: i32('replicas'),
    3: i32('updatedReplicas'),
    7: i32('readyReplicas'),
    4: i32('availableReplicas'),
    5: i32('unavailableReplicas'),
    6: msgs('conditions', 'DeploymentCondition'),
    8: i32P('collisionCount'),
  },
  DeploymentCondition: {
    1: str('type'),
    2: str('status'),
    6: time('lastUpdateTime'),
    7: time('lastTransitionTime'),
    4: str('reason'),
    5: str('message'),
  },
  ReplicaSet: { 1: meta, 2: msg('spec', 'ReplicaSetSpec'), 3: msg('status', 'ReplicaSetStatus') },
  ReplicaSetSpec: {
    1: i32P('replicas'),
    4: i32('minReadySeconds'),
    2: msgP('selector', 'LabelSelector'),
    3: msg('template', 'PodTemplateSpec'),
  },
  ReplicaSetStatus: {
    1: i32('replicas'),
    2: i32('fullyLabeledReplicas'),
    4: i32('readyReplicas'),
    5: i32('availableReplicas'),
    3: i64('observedGeneration'),
    6: msgs('conditions', 'ReplicaSetCondition'),
  },
  ReplicaSetCondition: {
    1: str('type'),
    2: str('status'),
    3: time('lastTransitionTime'),
    4: str('reason'),
    5: str('message'),
  },
  DaemonSet: { 1: meta, 2: msg('spec', 'DaemonSetSpec'), 3: msg('status', 'DaemonSetStatus') },
  DaemonSetSpec: {
    1: msgP('selector', 'LabelSelector'),
    2: msg('template', 'PodTemplateSpec'),
    3: msg('updateStrategy', 'DaemonSetUpdateStrategy'),
    4: i32('minReadySeconds'),
    6: i32P('revisionHistoryLimit'),
  },
  DaemonSetUpdateStrategy: { 1: str('type'), 2: msgP('rollingUpdate', 'RollingUpdateDaemonSet') },
  RollingUpdateDaemonSet: { 1: msgP('maxUnavailable', 'IntOrString'), 2: msgP('maxSurge', 'IntOrString') },
  DaemonSetStatus: {
    1: i32('currentNumberScheduled'),
    2: i32('numberMisscheduled'),
    3: i32('desiredNumberScheduled'),
    4: i32('numberReady'),
    5: i64('observedGeneration'),
    6: i32('updatedNumberScheduled'),
    7: i32('numberAvailable'),
    8: i32('numberUnavailable'),
    9: i32P('collisionCount'),
    10: msgs('conditions', 'DaemonSetCondition'),
  },
  DaemonSetCondition: {
    1: str('type'),
    2: str('status'),
    3: time('lastTransitionTime'),
    4: str('reason'),
    5: str('message'),
  },
  StatefulSet: { 1: meta, 2: msg('spec', 'StatefulSetSpec'), 3: msg('status', 'StatefulSetStatus') },
  StatefulSetSpec: {
    1: i32P('replicas'),
    2: msgP('selector', 'LabelSelector'),
    3: msg('template', 'PodTemplateSpec'),
    4: msgs('volumeClaimTemplates', 'PersistentVolumeClaim'),
    5: str('serviceName'),
    6: str('podManagementPolicy'),
    7: msg('updateStrategy', 'StatefulSetUpdateStrategy'),
    8: i32P('revisionHistoryLimit'),
    9: i32('minReadySeconds'),
    10: msgP('persistentVolumeClaimRetentionPolicy', 'StatefulSetPersistentVolumeClaimRetentionPolicy'),
    11: msgP('ordinals', 'StatefulSetOrdinals'),
  },
  StatefulSetUpdateStrategy: { 1: str('type'), 2: msgP('rollingUpdate', 'RollingUpdateStatefulSetStrategy') },
  RollingUpdateStatefulSetStrategy: { 1: i32P('partition'), 2: msgP('maxUnavailable', 'IntOrString') },
  StatefulSetPersistentVolumeClaimRetentionPolicy: { 1: str('whenDeleted'), 2: str('whenScaled') },
  StatefulSetOrdinals: { 1: i32('start') },
  StatefulSetStatus: {
    1: i64('observedGeneration'),
    2: i32('replicas'),
    3: i32('readyReplicas'),
    4: i32('currentReplicas'),
    5: i32('updatedReplicas'),
    6: str('currentRevision'),
    7: str('updateRevision'),
    9: i32P('collisionCount'),
    10: msgs('conditions', 'StatefulSetCondition'),
    11: i32('availableReplicas'),
  },
  StatefulSetCondition: {
    1: str('type'),
    2: str('status'),
    3: time('lastTransitionTime'),
    4: str('reason'),
    5: str('message'),
  },

  // -- k8s.io/api/batch/v1 -------------------------------------------------------
  Job: { 1: meta, 2: msg('spec', 'JobSpec'), 3: msg('status', 'JobStatus') },
  JobSpec: {
    1: i32P('parallelism'),
    2: i32P('completions'),
    3: i64P('activeDeadlineSeconds'),
    11: msgP('podFailurePolicy', 'PodFailurePolicy'),
    7: i32P('backoffLimit'),
    4: msgP('selector', 'LabelSelector'),
    5: boolP('manualSelector'),
    6: msg('template', 'PodTemplateSpec'),
    8: i32P('ttlSecondsAfterFinished'),
    9: strP('completionMode'),
    10: boolP('suspend'),
  },
  PodFailurePolicy: { 1: msgs('rules', 'PodFailurePolicyRule') },
  PodFailurePolicyRule: {
    1: str('action'),
    2: msgP('onExitCodes', 'PodFailurePolicyOnExitCodesRequirement'),
    3: msgs('onPodConditions', 'PodFailurePolicyOnPodConditionsPattern'),
  },
  PodFailurePolicyOnExitCodesRequirement: { 1: strP('containerName'), 2: str('operator'), 3: i32s('values') },
  PodFailurePolicyOnPodConditionsPattern: { 1: str('type'), 2: str('status') },
  JobStatus: {
    1: msgs('conditions', 'JobCondition'),
    2: time('startTime'),
    3: time('completionTime'),
    4: i32('active'),
    5: i32('succeeded'),
    6: i32('failed'),
    7: str('completedIndexes'),
    8: msgP('uncountedTerminatedPods', 'UncountedTerminatedPods'),
    9: i32P('ready'),
  },
  JobCondition: {
    1: str('type'),
    2: str('status'),
    3: time('lastProbeTime'),
    4: time('lastTransitionTime'),
    5: str('reason'),
    6: str('message'),
  },
  UncountedTerminatedPods: { 1: strs('succeeded'), 2: strs('failed') },
  CronJob: { 1: meta, 2: msg('spec', 'CronJobSpec'), 3: msg('status', 'CronJobStatus') },
  CronJobSpec: {
    1: str('schedule'),
    8: strP('timeZone'),
    2: i64P('startingDeadlineSeconds'),
    3: str('concurrencyPolicy'),
    4: boolP('suspend'),
    5: msg('jobTemplate', 'JobTemplateSpec'),
    6: i32P('successfulJobsHistoryLimit'),
    7: i32P('failedJobsHistoryLimit'),
  },
  JobTemplateSpec: { 1: meta, 2: msg('spec', 'JobSpec') },
  CronJobStatus: { 1: msgs('active', 'ObjectReference'), 4: time('lastScheduleTime'), 5: time('lastSuccessfulTime') },

  // -- k8s.io/api/rbac/v1 ----------------------------------------------------------
  PolicyRule: {
    1: strs('verbs'),
    2: strs('apiGroups'),
    3: strs('resources'),
    4: strs('resourceNames'),
    5: strs('nonResourceURLs'),
  },
  Role: { 1: meta, 2: msgs('rules', 'PolicyRule') },
  ClusterRole: { 1: meta, 2: msgs('rules', 'PolicyRule'), 3: msgP('aggregationRule', 'AggregationRule') },
  AggregationRule: { 1: msgs('clusterRoleSelectors', 'LabelSelector') },
  RoleBinding: { 1: meta, 2: msgs('subjects', 'RbacSubject'), 3: msg('roleRef', 'RoleRef') },
  ClusterRoleBinding: { 1: meta, 2: msgs('subjects', 'RbacSubject'), 3: msg('roleRef', 'RoleRef') },
  RbacSubject: { 1: str('kind'), 2: str('apiGroup'), 3: str('name'), 4: str('namespace') },
  RoleRef: { 1: str('apiGroup'), 2: str('kind'), 3: str('name') },

  // -- k8s.io/api/authorization/v1, authentication/v1 (the review objects kubectl posts) --
  SelfSubjectAccessReview: { 1: meta, 2: msg('spec', 'SelfSubjectAccessReviewSpec') },
  SelfSubjectAccessReviewSpec: {
    1: msgP('resourceAttributes', 'ResourceAttributes'),
    2: msgP('nonResourceAttributes', 'NonResourceAttributes'),
  },
  ResourceAttributes: {
    1: str('namespace'),
    2: str('verb'),
    3: str('group'),
    4: str('version'),
    5: str('resource'),
    6: str('subresource'),
    7: str('name'),
  },
  NonResourceAttributes: { 1: str('path'), 2: str('verb') },
  SelfSubjectRulesReview: { 1: meta, 2: msg('spec', 'SelfSubjectRulesReviewSpec') },
  SelfSubjectRulesReviewSpec: { 1: str('namespace') },
  SubjectAccessReview: { 1: meta, 2: msg('spec', 'SubjectAccessReviewSpec') },
  SubjectAccessReviewSpec: {
    1: msgP('resourceAttributes', 'ResourceAttributes'),
    2: msgP('nonResourceAttributes', 'NonResourceAttributes'),
    3: str('user'),
    4: strs('groups'),
    6: str('uid'),
  },
  SelfSubjectReview: { 1: meta },
  // TokenRequest (kubectl create token): serviceaccounts/<name>/token
  TokenRequest: { 1: meta, 2: msg('spec', 'TokenRequestSpec') },
  TokenRequestSpec: {
    1: strs('audiences'),
    4: i64P('expirationSeconds'),
    3: msgP('boundObjectRef', 'BoundObjectReference'),
  },
  BoundObjectReference: { 1: str('kind'), 2: str('apiVersion'), 3: str('name'), 4: str('uid') },

  // -- core/v1 PodTemplate and k8s.io/api/scheduling/v1 PriorityClass (kubectl create priorityclass)
  PodTemplate: { 1: meta, 2: msg('template', 'PodTemplateSpec') },
  PriorityClass: {
    1: meta,
    2: i32('value'),
    3: bool('globalDefault'),
    4: str('description'),
    5: strP('preemptionPolicy'),
  },

  // -- k8s.io/api/networking/v1 Ingress and IngressClass (kubectl create ingress / -f)
  Ingress: { 1: meta, 2: msg('spec', 'IngressSpec'), 3: msg('status', 'IngressStatus') },
  IngressSpec: {
    4: strP('ingressClassName'),
    1: msgP('defaultBackend', 'IngressBackend'),
    2: msgs('tls', 'IngressTLS'),
    3: msgs('rules', 'IngressRule'),
  },
  IngressBackend: { 4: msgP('service', 'IngressServiceBackend'), 3: msgP('resource', 'TypedLocalObjectReference') },
  IngressServiceBackend: { 1: str('name'), 2: msg('port', 'ServiceBackendPort') },
  ServiceBackendPort: { 1: str('name'), 2: i32('number') },
  IngressTLS: { 1: strs('hosts'), 2: str('secretName') },
  IngressRule: { 1: str('host'), 2: inline('ingressRuleValue', 'IngressRuleValue') },
  IngressRuleValue: { 1: msgP('http', 'HTTPIngressRuleValue') },
  HTTPIngressRuleValue: { 1: msgs('paths', 'HTTPIngressPath') },
  HTTPIngressPath: { 1: str('path'), 3: strP('pathType'), 2: msg('backend', 'IngressBackend') },
  IngressStatus: { 1: msg('loadBalancer', 'IngressLoadBalancerStatus') },
  IngressLoadBalancerStatus: { 1: msgs('ingress', 'IngressLoadBalancerIngress') },
  IngressLoadBalancerIngress: { 1: str('ip'), 2: str('hostname'), 4: msgs('ports', 'IngressPortStatus') },
  IngressPortStatus: { 1: i32('port'), 2: str('protocol'), 3: strP('error') },
  IngressClass: { 1: meta, 2: msg('spec', 'IngressClassSpec') },
  IngressClassSpec: { 1: str('controller'), 2: msgP('parameters', 'IngressClassParametersReference') },
  IngressClassParametersReference: {
    1: strP('apiGroup'),
    2: str('kind'),
    3: str('name'),
    4: strP('scope'),
    5: strP('namespace'),
  },

  // -- k8s.io/api/autoscaling/v1 HorizontalPodAutoscaler (kubectl autoscale)
  HorizontalPodAutoscaler: {
    1: meta,
    2: msg('spec', 'HorizontalPodAutoscalerSpecV1'),
    3: msg('status', 'HorizontalPodAutoscalerStatusV1'),
  },
  HorizontalPodAutoscalerSpecV1: {
    1: msg('scaleTargetRef', 'CrossVersionObjectReference'),
    2: i32P('minReplicas'),
    3: i32('maxReplicas'),
    4: i32P('targetCPUUtilizationPercentage'),
  },
  CrossVersionObjectReference: { 1: str('kind'), 2: str('name'), 3: str('apiVersion') },
  HorizontalPodAutoscalerStatusV1: {
    1: i64P('observedGeneration'),
    2: time('lastScaleTime'),
    3: i32('currentReplicas'),
    4: i32('desiredReplicas'),
    5: i32P('currentCPUUtilizationPercentage'),
  },

  // -- k8s.io/api/certificates/v1 (kubectl certificate approve|deny PUTs the object to /approval);
  // spec.extra (6) is left out: the server fills it from the requesting user
  CertificateSigningRequest: {
    1: meta,
    2: msg('spec', 'CertificateSigningRequestSpec'),
    3: msg('status', 'CertificateSigningRequestStatus'),
  },
  CertificateSigningRequestSpec: {
    1: { name: 'request', type: 'bytes' },
    7: str('signerName'),
    8: i32P('expirationSeconds'),
    5: strs('usages'),
    2: str('username'),
    3: str('uid'),
    4: strs('groups'),
  },
  CertificateSigningRequestStatus: {
    1: msgs('conditions', 'CertificateSigningRequestCondition'),
    2: { name: 'certificate', type: 'bytes' },
  },
  CertificateSigningRequestCondition: {
    1: str('type'),
    6: str('status'),
    2: str('reason'),
    3: str('message'),
    4: time('lastUpdateTime'),
    5: time('lastTransitionTime'),
  },
};

/** top-level kinds accepted in protobuf bodies: `apiVersion/kind` → message */
export const KINDS: Readonly<Record<string, string>> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/Pod': 'Pod',
  'v1/PersistentVolumeClaim': 'PersistentVolumeClaim',
  'v1/ResourceQuota': 'ResourceQuota',
  'v1/PodTemplate': 'PodTemplate',
  'scheduling.k8s.io/v1/PriorityClass': 'PriorityClass',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'networking.k8s.io/v1/IngressClass': 'IngressClass',
  'apps/v1/Deployment': 'Deployment',
  'apps/v1/ReplicaSet': 'ReplicaSet',
  'apps/v1/DaemonSet': 'DaemonSet',
  'apps/v1/StatefulSet': 'StatefulSet',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'authorization.k8s.io/v1/SubjectAccessReview': 'SubjectAccessReview',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
  'certificates.k8s.io/v1/CertificateSigningRequest': 'CertificateSigningRequest',
  'autoscaling/v1/HorizontalPodAutoscaler': 'HorizontalPodAutoscaler',
  'meta.k8s.io/v1/DeleteOptions': 'DeleteOptions',
  'v1/DeleteOptions': 'DeleteOptions',
};

/** the kinds, as users name them, for error messages */
export function supportedKinds(): string[] {
  return [...new Set(Object.values(KINDS))];
}
