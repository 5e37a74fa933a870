// Each Pod Security check's forbidden reason and detail, the cases ported from Kubernetes'
// policy/check_*_test.go (pod-security-admission v1.32), and the evaluator's order of checks.
import { describe, expect, it } from 'vitest';
import * as b from '../../controlplane/admission/pod-security/checks-baseline.js';
import * as r from '../../controlplane/admission/pod-security/checks-restricted.js';
import {
  aggregate,
  evaluatePod,
  forbiddenDetail,
  MAX_VERSION,
} from '../../controlplane/admission/pod-security/evaluator.js';
import type { CheckPodFn, PodMeta } from '../../controlplane/admission/pod-security/pod-view.js';
import { LATEST, v1 } from '../../controlplane/admission/pod-security/policy.js';

type Row = [
  name: string,
  check: CheckPodFn,
  meta: PodMeta,
  spec: Record<string, unknown>,
  reason: string | null,
  detail?: string,
];
const sc = (name: string, securityContext: Record<string, unknown> | undefined) => ({
  name,
  ...(securityContext ? { securityContext } : {}),
});
const A = 'container.apparmor.security.beta.kubernetes.io/';
const S = 'container.seccomp.security.alpha.kubernetes.io/';

const rows: Row[] = [
  [
    'privileged',
    b.privileged_1_0,
    {},
    {
      containers: [
        sc('a', undefined),
        sc('b', {}),
        sc('c', { privileged: false }),
        sc('d', { privileged: true }),
        sc('e', { privileged: true }),
      ],
    },
    'privileged',
    'containers "d", "e" must not set securityContext.privileged=true',
  ],
  [
    'privileged, one',
    b.privileged_1_0,
    {},
    { initContainers: [sc('i', { privileged: true })], containers: [sc('a', {})] },
    'privileged',
    'container "i" must not set securityContext.privileged=true',
  ],
  [
    'host namespaces',
    b.hostNamespaces_1_0,
    {},
    { hostNetwork: true, hostPID: true, hostIPC: true },
    'host namespaces',
    'hostNetwork=true, hostPID=true, hostIPC=true',
  ],
  ['host namespaces off', b.hostNamespaces_1_0, {}, { hostNetwork: false }, null],
  [
    'hostPath volumes',
    b.hostPathVolumes_1_0,
    {},
    {
      volumes: [
        { name: 'a', hostPath: {} },
        { name: 'b', hostPath: {} },
        { name: 'c', emptyDir: {} },
      ],
    },
    'hostPath volumes',
    'volumes "a", "b"',
  ],
  [
    'one host port',
    b.hostPorts_1_0,
    {},
    {
      containers: [
        { name: 'a', ports: [{ hostPort: 0 }] },
        { name: 'b', ports: [{ hostPort: 0 }, { hostPort: 20 }] },
      ],
    },
    'hostPort',
    'container "b" uses hostPort 20',
  ],
  [
    'host ports',
    b.hostPorts_1_0,
    {},
    {
      containers: [
        { name: 'a', ports: [{ hostPort: 0 }] },
        { name: 'b', ports: [{ hostPort: 0 }, { hostPort: 10 }, { hostPort: 20 }] },
        { name: 'c', ports: [{ hostPort: 0 }, { hostPort: 10 }, { hostPort: 30 }] },
      ],
    },
    'hostPort',
    'containers "b", "c" use hostPorts 10, 20, 30',
  ],
  [
    'capabilities baseline',
    b.capabilitiesBaseline_1_0,
    {},
    {
      containers: [
        sc('a', { capabilities: { add: ['FOO', 'BAR'] } }),
        sc('b', { capabilities: { add: ['BAR', 'BAZ'] } }),
        sc('c', { capabilities: { add: ['CHOWN'] } }),
      ],
    },
    'non-default capabilities',
    'containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add',
  ],
  [
    'procMount',
    b.procMount_1_0,
    {},
    {
      containers: [
        sc('a', undefined),
        sc('b', {}),
        sc('c', { procMount: 'Default' }),
        sc('d', { procMount: 'Unmasked' }),
        sc('e', { procMount: 'other' }),
      ],
    },
    'procMount',
    'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"',
  ],
  [
    'seccomp annotation pod',
    b.seccompProfileBaseline_1_0,
    { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } },
    { containers: [{ name: 'a' }] },
    'seccompProfile',
    'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"',
  ],
  [
    'seccomp annotations',
    b.seccompProfileBaseline_1_0,
    {
      annotations: {
        'seccomp.security.alpha.kubernetes.io/pod': 'unconfined',
        [`${S}a`]: 'unconfined',
        [`${S}b`]: 'unknown',
        [`${S}c`]: 'runtime/default',
        [`${S}d`]: 'localhost/x',
      },
    },
    { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }] },
    'seccompProfile',
    'forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", container.seccomp.security.alpha.kubernetes.io/b="unknown", seccomp.security.alpha.kubernetes.io/pod="unconfined"',
  ],
  [
    'seccomp baseline pod and containers',
    b.seccompProfileBaseline_1_19,
    {},
    {
      securityContext: { seccompProfile: { type: 'Unconfined' } },
      containers: [
        sc('a', undefined),
        sc('b', { seccompProfile: { type: 'RuntimeDefault' } }),
        sc('c', { seccompProfile: { type: 'Unconfined' } }),
        sc('d', { seccompProfile: { type: 'Unconfined' } }),
      ],
    },
    'seccompProfile',
    'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"',
  ],
  ['seccomp baseline unset is fine', b.seccompProfileBaseline_1_19, {}, { containers: [{ name: 'a' }] }, null],
  [
    'AppArmor unconfined pod',
    b.appArmorProfile_1_0,
    {},
    { securityContext: { appArmorProfile: { type: 'Unconfined' } } },
    'forbidden AppArmor profile',
    'pod must not set AppArmor profile type to "Unconfined"',
  ],
  [
    'AppArmor unconfined init container',
    b.appArmorProfile_1_0,
    {},
    {
      securityContext: { appArmorProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'foo' }],
      initContainers: [sc('bar', { appArmorProfile: { type: 'Unconfined' } })],
    },
    'forbidden AppArmor profile',
    'container "bar" must not set AppArmor profile type to "Unconfined"',
  ],
  [
    'AppArmor annotations',
    b.appArmorProfile_1_0,
    {
      annotations: {
        [A]: 'bogus',
        [`${A}a`]: '',
        [`${A}b`]: 'runtime/default',
        [`${A}c`]: 'localhost/',
        [`${A}d`]: 'localhost/foo',
        [`${A}e`]: 'unconfined',
        [`${A}f`]: 'unknown',
      },
    },
    {},
    'forbidden AppArmor profiles',
    `annotations must not set AppArmor profile type to "${A}="bogus"", "${A}e="unconfined"", "${A}f="unknown""`,
  ],
  [
    'AppArmor allowed',
    b.appArmorProfile_1_0,
    { annotations: { [`${A}test`]: 'localhost/sec-profile01', env: 'dev' } },
    {},
    null,
  ],
  [
    'seLinux pod and containers',
    b.seLinuxOptions_1_31,
    {},
    {
      securityContext: { seLinuxOptions: { type: 'foo', user: 'bar', role: 'baz' } },
      containers: [
        sc('a', { seLinuxOptions: { type: 'container_t' } }),
        sc('b', { seLinuxOptions: { type: 'container_init_t' } }),
        sc('c', { seLinuxOptions: { type: 'container_kvm_t' } }),
        sc('d', { seLinuxOptions: { type: 'container_engine_t' } }),
        sc('e', { seLinuxOptions: { type: 'bar' } }),
        sc('f', { seLinuxOptions: { user: 'bar' } }),
        sc('g', { seLinuxOptions: { role: 'baz' } }),
      ],
    },
    'seLinuxOptions',
    'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set',
  ],
  [
    'seLinux container_engine_t before 1.31',
    b.seLinuxOptions_1_0,
    {},
    { containers: [sc('d', { seLinuxOptions: { type: 'container_engine_t' } })] },
    'seLinuxOptions',
    'container "d" set forbidden securityContext.seLinuxOptions: type "container_engine_t"',
  ],
  [
    'seLinux user only',
    b.seLinuxOptions_1_0,
    {},
    { securityContext: { seLinuxOptions: { user: 'bar' } } },
    'seLinuxOptions',
    'pod set forbidden securityContext.seLinuxOptions: user may not be set',
  ],
  [
    'sysctls',
    b.sysctls_1_0,
    {},
    {
      securityContext: {
        sysctls: [
          { name: 'a', value: 'a' },
          { name: 'b', value: 'b' },
          { name: 'kernel.shm_rmid_forced', value: '0' },
        ],
      },
    },
    'forbidden sysctls',
    'a, b',
  ],
  [
    'sysctl new in 1.27',
    b.sysctls_1_0,
    {},
    { securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_reserved_ports', value: '1' }] } },
    'forbidden sysctls',
    'net.ipv4.ip_local_reserved_ports',
  ],
  [
    'sysctl allowed from 1.27',
    b.sysctls_1_27,
    {},
    { securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_reserved_ports', value: '1' }] } },
    null,
  ],
  [
    'sysctl new in 1.32',
    b.sysctls_1_29,
    {},
    { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '4096 87380 16777216' }] } },
    'forbidden sysctls',
    'net.ipv4.tcp_rmem',
  ],
  [
    'sysctl allowed from 1.32',
    b.sysctls_1_32,
    {},
    { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_wmem', value: '4096 87380 16777216' }] } },
    null,
  ],
  [
    'hostProcess',
    b.windowsHostProcess_1_0,
    {},
    {
      securityContext: { windowsOptions: { hostProcess: true } },
      containers: [
        sc('a', undefined),
        sc('b', {}),
        sc('c', { windowsOptions: {} }),
        sc('d', { windowsOptions: { hostProcess: false } }),
        sc('e', { windowsOptions: { hostProcess: true } }),
        sc('f', { windowsOptions: { hostProcess: true } }),
      ],
    },
    'hostProcess',
    'pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true',
  ],
  [
    'allowPrivilegeEscalation',
    r.allowPrivilegeEscalation_1_25,
    {},
    {
      containers: [
        sc('a', undefined),
        sc('b', {}),
        sc('c', { allowPrivilegeEscalation: true }),
        sc('d', { allowPrivilegeEscalation: false }),
      ],
    },
    'allowPrivilegeEscalation != false',
    'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false',
  ],
  [
    'allowPrivilegeEscalation windows',
    r.allowPrivilegeEscalation_1_25,
    {},
    { os: { name: 'windows' }, containers: [{ name: 'a' }] },
    null,
  ],
  [
    'allowPrivilegeEscalation windows before 1.25',
    r.allowPrivilegeEscalation_1_8,
    {},
    { os: { name: 'windows' }, containers: [{ name: 'a' }] },
    'allowPrivilegeEscalation != false',
    'container "a" must set securityContext.allowPrivilegeEscalation=false',
  ],
  [
    'capabilities restricted',
    r.capabilitiesRestricted_1_25,
    {},
    {
      containers: [
        sc('a', { capabilities: { add: ['FOO', 'BAR'] } }),
        sc('b', { capabilities: { add: ['BAR', 'BAZ'] } }),
        sc('c', { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['ALL', 'FOO'] } }),
      ],
    },
    'unrestricted capabilities',
    'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add',
  ],
  [
    'capabilities restricted, no security context',
    r.capabilitiesRestricted_1_25,
    {},
    { os: { name: 'linux' }, containers: [{ name: 'a' }] },
    'unrestricted capabilities',
    'container "a" must set securityContext.capabilities.drop=["ALL"]',
  ],
  [
    'capabilities restricted, NET_BIND_SERVICE',
    r.capabilitiesRestricted_1_22,
    {},
    { containers: [sc('a', { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })] },
    null,
  ],
  [
    'restricted volumes',
    r.restrictedVolumes_1_0,
    {},
    {
      volumes: [
        ...[
          'emptyDir',
          'secret',
          'persistentVolumeClaim',
          'downwardAPI',
          'configMap',
          'projected',
          'csi',
          'ephemeral',
        ].map((t, i) => ({ name: `a${i + 1}`, [t]: {} })),
        ...[
          'hostPath',
          'gcePersistentDisk',
          'awsElasticBlockStore',
          'gitRepo',
          'nfs',
          'iscsi',
          'glusterfs',
          'rbd',
          'flexVolume',
          'cinder',
          'cephfs',
          'flocker',
          'fc',
          'azureFile',
          'vsphereVolume',
          'quobyte',
          'azureDisk',
          'photonPersistentDisk',
          'portworxVolume',
          'scaleIO',
          'storageos',
        ].map((t, i) => ({ name: `b${i + 1}`, [t]: {} })),
        { name: 'c1' },
      ],
    },
    'restricted volume types',
    'volumes "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11", "b12", "b13", "b14", "b15", "b16", "b17", "b18", "b19", "b20", "b21", "c1" use restricted volume types ' +
      '"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", ' +
      '"hostPath", "iscsi", "nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "unknown", "vsphereVolume"',
  ],
  [
    'restricted volume, one',
    r.restrictedVolumes_1_0,
    {},
    { volumes: [{ name: 'root', hostPath: { path: '/' } }] },
    'restricted volume types',
    'volume "root" uses restricted volume type "hostPath"',
  ],
  [
    'runAsNonRoot unset',
    r.runAsNonRoot_1_0,
    {},
    { containers: [{ name: 'a' }] },
    'runAsNonRoot != true',
    'pod or container "a" must set securityContext.runAsNonRoot=true',
  ],
  [
    'runAsNonRoot pod false',
    r.runAsNonRoot_1_0,
    {},
    { securityContext: { runAsNonRoot: false }, containers: [sc('a', { runAsNonRoot: true })] },
    'runAsNonRoot != true',
    'pod must not set securityContext.runAsNonRoot=false',
  ],
  [
    'runAsNonRoot containers false',
    r.runAsNonRoot_1_0,
    {},
    {
      securityContext: { runAsNonRoot: true },
      containers: [sc('a', undefined), sc('b', {}), sc('c', { runAsNonRoot: false }), sc('d', { runAsNonRoot: false })],
    },
    'runAsNonRoot != true',
    'containers "c", "d" must not set securityContext.runAsNonRoot=false',
  ],
  [
    'runAsNonRoot containers implicit',
    r.runAsNonRoot_1_0,
    {},
    { containers: [sc('a', undefined), sc('b', {}), sc('c', { runAsNonRoot: true })] },
    'runAsNonRoot != true',
    'pod or containers "a", "b" must set securityContext.runAsNonRoot=true',
  ],
  [
    'runAsUser pod',
    r.runAsUser_1_23,
    {},
    { securityContext: { runAsUser: 0 }, containers: [sc('a', { runAsUser: 1000 })] },
    'runAsUser=0',
    'pod must not set runAsUser=0',
  ],
  [
    'runAsUser containers',
    r.runAsUser_1_23,
    {},
    {
      securityContext: { runAsUser: 1000 },
      containers: [
        sc('a', undefined),
        sc('b', {}),
        sc('c', { runAsUser: 0 }),
        sc('d', { runAsUser: 0 }),
        sc('e', { runAsUser: 1 }),
      ],
    },
    'runAsUser=0',
    'containers "c", "d" must not set runAsUser=0',
  ],
  [
    'seccomp restricted unset',
    r.seccompProfileRestricted_1_25,
    {},
    { containers: [{ name: 'a' }] },
    'seccompProfile',
    'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
  ],
  [
    'seccomp restricted explicit',
    r.seccompProfileRestricted_1_19,
    {},
    {
      securityContext: { seccompProfile: { type: 'Unconfined' } },
      containers: [
        sc('a', undefined),
        sc('b', { seccompProfile: { type: 'RuntimeDefault' } }),
        sc('c', { seccompProfile: { type: 'Unconfined' } }),
        sc('d', { seccompProfile: { type: 'Unconfined' } }),
      ],
    },
    'seccompProfile',
    'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"',
  ],
  [
    'seccomp restricted implicit',
    r.seccompProfileRestricted_1_19,
    {},
    {
      containers: [
        sc('a', undefined),
        sc('b', {}),
        sc('c', { seccompProfile: { type: 'Localhost', localhostProfile: 'x' } }),
      ],
    },
    'seccompProfile',
    'pod or containers "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
  ],
  [
    'seccomp restricted pod-level',
    r.seccompProfileRestricted_1_25,
    {},
    { securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'a' }] },
    null,
  ],
];

describe('Pod Security checks (ported from Kubernetes)', () => {
  it.each(rows)('%s', (_n, check, meta, spec, reason, detail) => {
    const res = check(meta, spec);
    if (reason === null) {
      expect(res.allowed).toBe(true);
      return;
    }
    expect(res).toEqual({ allowed: false, forbiddenReason: reason, forbiddenDetail: detail });
  });
});

const kubectlRunPod = { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] };

describe('evaluator', () => {
  it('latest is v1.32', () => expect(MAX_VERSION).toBe(32));
  it('lists baseline checks first, then restricted, each sorted by ID', () => {
    const res = aggregate(evaluatePod({ level: 'restricted', version: LATEST }, {}, kubectlRunPod));
    expect(res.reasons).toEqual([
      'privileged',
      'allowPrivilegeEscalation != false',
      'unrestricted capabilities',
      'runAsNonRoot != true',
      'seccompProfile',
    ]);
    expect(forbiddenDetail(res)).toBe(
      'privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });
  it('baseline runs only the baseline checks', () => {
    expect(aggregate(evaluatePod({ level: 'baseline', version: LATEST }, {}, kubectlRunPod)).reasons).toEqual([
      'privileged',
    ]);
    expect(
      aggregate(evaluatePod({ level: 'baseline', version: LATEST }, {}, { containers: [{ name: 'c' }] })).allowed,
    ).toBe(true);
  });
  it('privileged runs nothing', () =>
    expect(evaluatePod({ level: 'privileged', version: LATEST }, {}, kubectlRunPod)).toEqual([]));
  it('restricted volumes replace the hostPath check, restricted capabilities the baseline one (from v1.22)', () => {
    const spec = {
      volumes: [{ name: 'v', hostPath: {} }],
      containers: [{ name: 'c', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }],
    };
    const reasons = (minor: number) =>
      aggregate(evaluatePod({ level: 'restricted', version: v1(minor) }, {}, spec)).reasons;
    expect(reasons(32)).not.toContain('hostPath volumes');
    expect(reasons(32)).toContain('restricted volume types');
    expect(reasons(32)).not.toContain('non-default capabilities');
    expect(reasons(21)).toContain('non-default capabilities');
    expect(reasons(21)).not.toContain('unrestricted capabilities');
  });
  it('a version newer than any check uses the newest checks; runAsUser applies from v1.23', () => {
    const spec = { securityContext: { runAsUser: 0 }, containers: [{ name: 'c' }] };
    expect(aggregate(evaluatePod({ level: 'restricted', version: v1(40) }, {}, spec)).reasons).toContain('runAsUser=0');
    expect(aggregate(evaluatePod({ level: 'restricted', version: v1(22) }, {}, spec)).reasons).not.toContain(
      'runAsUser=0',
    );
  });
});
