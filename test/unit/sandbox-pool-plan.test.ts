// Which pods may adopt a pooled sandbox (agent/pods/sandbox-pool-plan.ts): a table.
import { describe, expect, it } from 'vitest';
import { poolIneligibility, type PoolPod } from '../../agent/pods/sandbox-pool-plan.js';

const c = (extra: Record<string, unknown> = {}) => ({ name: 'c', image: 'busybox', ...extra });
const pod = (spec: Record<string, unknown>): PoolPod => ({ spec: { containers: [c()], ...spec } });

const table: Array<[string, PoolPod, string | undefined]> = [
  ['a plain pod', pod({}), undefined],
  ['no spec at all', {}, undefined],
  ['containerPorts without hostPort', pod({ containers: [c({ ports: [{ containerPort: 80 }] })] }), undefined],
  [
    'disk emptyDir, configMap volumes',
    pod({
      volumes: [
        { name: 'a', emptyDir: {} },
        { name: 'b', configMap: { name: 'x' } },
      ],
    }),
    undefined,
  ],
  [
    'dnsPolicy None with dnsConfig (resolv.conf is written)',
    pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'] } }),
    undefined,
  ],
  ['shareProcessNamespace', pod({ shareProcessNamespace: true }), undefined],
  ['empty sysctls and hostAliases lists', pod({ securityContext: { sysctls: [] }, hostAliases: [] }), undefined],
  ['hostNetwork', pod({ hostNetwork: true }), 'hostNetwork'],
  ['hostPID', pod({ hostPID: true }), 'hostPID'],
  ['hostIPC', pod({ hostIPC: true }), 'hostIPC'],
  ['a hostPort', pod({ containers: [c({ ports: [{ containerPort: 80, hostPort: 8080 }] })] }), 'hostPort'],
  [
    'a hostPort on an init container',
    pod({ initContainers: [c({ ports: [{ containerPort: 80, hostPort: 8080 }] })] }),
    'hostPort',
  ],
  [
    'sysctls',
    pod({ securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } }),
    'sysctls',
  ],
  ['memory emptyDir', pod({ volumes: [{ name: 'm', emptyDir: { medium: 'Memory' } }] }), 'emptyDir medium Memory'],
  ['hostAliases', pod({ hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }] }), 'hostAliases'],
  ['spec.hostname', pod({ hostname: 'web-0' }), 'hostname'],
  ['spec.subdomain', pod({ subdomain: 'web' }), 'hostname'],
  ['setHostnameAsFQDN', pod({ setHostnameAsFQDN: true }), 'hostname'],
];

describe('poolIneligibility', () => {
  for (const [name, p, want] of table) {
    it(`${name}: ${want ?? 'may adopt'}`, () => expect(poolIneligibility(p)).toBe(want));
  }
});
