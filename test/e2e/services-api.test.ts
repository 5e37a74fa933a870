// Services through the API, end to end: a real server and agent (Docker's bridge network,
// so pods have real IPs but no skiff proxying), the real kubectl. ClusterIP and NodePort
// allocation with Kubernetes' error messages, headless services, the seeded kubernetes and
// kube-dns Services, Endpoints and EndpointSlices following pods (readiness, scale to
// zero), and a LoadBalancer's EXTERNAL-IP from the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRouteIPv4 } from '../../controlplane/host-address.js';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  k,
  kubectl,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const HOST_IP = defaultRouteIPv4() ?? '127.0.0.1';

const enabled = dockerAvailable() && kubectlAvailable();

const HTTPD = [
  'sh',
  '-c',
  "mkdir -p /www && echo ok > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait",
];

const deployment = (name: string, replicas: number, readinessCommand?: string[]) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image: BUSYBOX,
            imagePullPolicy: 'IfNotPresent',
            command: HTTPD,
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: readinessCommand
              ? { exec: { command: readinessCommand }, periodSeconds: 1 }
              : { httpGet: { path: '/index.html', port: 'http' }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
});

describe.skipIf(!enabled)('Services on the API with the real kubectl', () => {
  let s: ServerProc;
  let a: AgentProc;
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const apply = (obj: unknown) => kubectl(s, ['apply', '-f', '-'], { input: JSON.stringify(obj) });
  /** `kubectl get` rows without the header, cells split on runs of spaces */
  const rows = (args: string[]) =>
    k(s, ['get', ...args])
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s{2,}/));
  const podIPs = (app: string) =>
    (json(['get', 'pods', '-l', `app=${app}`]).items as any[])
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.podIP)
      .map((p) => p.status.podIP as string)
      .sort();

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  });

  afterAll(async () => {
    await a?.kill();
    await s?.cleanup();
    if (a) removeNodeContainers(a.node);
  });

  it('seeds default/kubernetes at the first service address and kube-system/kube-dns at the cluster DNS address', () => {
    const [api] = rows(['svc', 'kubernetes']);
    expect(api!.slice(0, 5)).toEqual(['kubernetes', 'ClusterIP', '10.43.0.1', '<none>', '443/TCP']);
    const [dns] = rows(['svc', '-n', 'kube-system', 'kube-dns']);
    expect(dns!.slice(0, 5)).toEqual(['kube-dns', 'ClusterIP', '10.43.0.10', '<none>', '53/UDP,53/TCP']);
    expect(json(['get', 'svc', '-n', 'kube-system', 'kube-dns']).metadata.labels['k8s-app']).toBe('kube-dns');
    const [ep] = rows(['endpoints', 'kubernetes']);
    // the server listens on 127.0.0.1, but pods cannot reach loopback: the machine's address
    expect(ep![1]).toBe(`${HOST_IP}:${s.port}`);
    expect(json(['get', 'endpointslice', 'kubernetes']).endpoints[0].addresses).toEqual([HOST_IP]);
  });

  it('exposes a deployment: ClusterIP from the service CIDR, Endpoints and EndpointSlices with the pod IPs, empty at zero replicas', async () => {
    expect(apply(deployment('web', 2)).code).toBe(0);
    const r = kubectl(s, ['expose', 'deployment', 'web', '--port', '80', '--target-port', 'http']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('service/web exposed');
    const svc = json(['get', 'svc', 'web']);
    expect(svc.spec.clusterIP).toMatch(/^10\.43\.\d+\.\d+$/);
    expect(svc.spec.clusterIPs).toEqual([svc.spec.clusterIP]);
    expect(svc.spec.ipFamilies).toEqual(['IPv4']);
    expect(svc.spec.ipFamilyPolicy).toBe('SingleStack');
    const [row] = rows(['svc', 'web', '-o', 'wide']);
    expect(row!.slice(0, 5)).toEqual(['web', 'ClusterIP', svc.spec.clusterIP, '<none>', '80/TCP']);
    expect(row![6]).toBe('app=web');

    const ips = await eventually(
      () => {
        const got = podIPs('web');
        expect(got).toHaveLength(2);
        const ep = json(['get', 'endpoints', 'web']);
        expect((ep.subsets?.[0]?.addresses ?? []).map((x: any) => x.ip).sort()).toEqual(got);
        return got;
      },
      60_000,
      250,
    );
    const ep = json(['get', 'endpoints', 'web']);
    expect(ep.subsets[0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    expect(ep.subsets[0].addresses[0]).toMatchObject({
      nodeName: a.node,
      targetRef: { kind: 'Pod', namespace: 'default' },
    });
    const [epRow] = rows(['endpoints', 'web']);
    expect(epRow![1]!.split(',').sort()).toEqual(ips.map((ip) => `${ip}:8080`).sort());

    const sliceRows = rows(['endpointslices', '-l', 'kubernetes.io/service-name=web']);
    expect(sliceRows).toHaveLength(1);
    expect(sliceRows[0]![0]).toMatch(/^web-[a-z0-9]{5}$/);
    expect(sliceRows[0]!.slice(1, 3)).toEqual(['IPv4', '8080']);
    expect(sliceRows[0]![3]!.split(',').sort()).toEqual(ips);
    const slice = json(['get', 'endpointslices', sliceRows[0]![0]!]);
    expect(slice.metadata.labels['endpointslice.kubernetes.io/managed-by']).toBe('endpointslice-controller.k8s.io');
    expect(slice.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Service',
      name: 'web',
      uid: svc.metadata.uid,
      controller: true,
    });
    expect(
      slice.endpoints.every((e: any) => e.conditions.ready && e.conditions.serving && !e.conditions.terminating),
    ).toBe(true);

    expect(k(s, ['scale', 'deployment', 'web', '--replicas=0']).trim()).toBe('deployment.apps/web scaled');
    await eventually(
      () => {
        expect(rows(['endpoints', 'web'])[0]![1]).toBe('<none>');
        const sl = rows(['endpointslices', '-l', 'kubernetes.io/service-name=web']);
        expect(sl).toHaveLength(1);
        expect(sl[0]![3]).toBe('<unset>');
      },
      60_000,
      250,
    );
    expect(json(['get', 'endpoints', 'web']).subsets).toBeUndefined();
    // deleting the Service takes its Endpoints and (through the garbage collector) its slices
    k(s, ['delete', 'svc', 'web']);
    await eventually(
      () => {
        expect(kubectl(s, ['get', 'endpoints', 'web']).stderr).toContain('endpoints "web" not found');
        expect(rows(['endpointslices', '-l', 'kubernetes.io/service-name=web'])).toHaveLength(0);
      },
      30_000,
      250,
    );
  });

  it('lists a pod whose readiness probe fails under notReadyAddresses', async () => {
    expect(apply(deployment('unready', 1, ['false'])).code).toBe(0);
    expect(
      apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'unready' },
        spec: { selector: { app: 'unready' }, ports: [{ port: 80, targetPort: 'http' }] },
      }).code,
    ).toBe(0);
    const ep = await eventually(
      () => {
        const e = json(['get', 'endpoints', 'unready']);
        expect(e.subsets?.[0]?.notReadyAddresses).toHaveLength(1);
        return e;
      },
      60_000,
      250,
    );
    expect(ep.subsets[0].addresses).toBeUndefined();
    expect(ep.subsets[0].notReadyAddresses[0].ip).toBe(podIPs('unready')[0]);
    const slice = json(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=unready']).items[0];
    expect(slice.endpoints[0].conditions).toEqual({ ready: false, serving: false, terminating: false });
    k(s, ['delete', 'deployment', 'unready']);
  });

  it('allocates NodePorts in the range and refuses taken ports and addresses as Kubernetes does', () => {
    const np = (name: string, nodePort?: number, extra: Record<string, unknown> = {}) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: {
        type: 'NodePort',
        selector: { app: name },
        ports: [{ port: 80, targetPort: 8080, ...(nodePort ? { nodePort } : {}) }],
        ...extra,
      },
    });
    expect(apply(np('np1', 30080)).code).toBe(0);
    expect(rows(['svc', 'np1'])[0]!.slice(1, 5)).toEqual([
      'NodePort',
      json(['get', 'svc', 'np1']).spec.clusterIP,
      '<none>',
      '80:30080/TCP',
    ]);
    expect(apply(np('np2')).code).toBe(0);
    const auto = json(['get', 'svc', 'np2']).spec.ports[0].nodePort;
    expect(auto).toBeGreaterThanOrEqual(30000);
    expect(auto).toBeLessThanOrEqual(32767);

    const taken = kubectl(s, ['create', '-f', '-'], { input: JSON.stringify(np('np3', 30080)) });
    expect(taken.code).not.toBe(0);
    expect(taken.stderr.trim()).toBe(
      'The Service "np3" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated',
    );
    const outside = kubectl(s, ['create', '-f', '-'], { input: JSON.stringify(np('np4', 8080)) });
    expect(outside.stderr.trim()).toBe(
      'The Service "np4" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    const ip = kubectl(s, ['create', '-f', '-'], {
      input: JSON.stringify({
        ...np('dns2'),
        spec: { selector: { app: 'x' }, clusterIP: '10.43.0.10', ports: [{ port: 53 }] },
      }),
    });
    expect(ip.stderr.trim()).toBe(
      'The Service "dns2" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.0.10"}: failed to allocate IP 10.43.0.10: provided IP is already allocated',
    );
    const range = kubectl(s, ['create', '-f', '-'], {
      input: JSON.stringify({
        ...np('far'),
        spec: { selector: { app: 'x' }, clusterIP: '10.96.0.10', ports: [{ port: 53 }] },
      }),
    });
    expect(range.stderr.trim()).toBe(
      'The Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: the provided IP (10.96.0.10) is not in the valid range. The range of valid IPs is 10.43.0.0/16',
    );
    // a dry run takes nothing
    expect(
      kubectl(s, ['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(np('dry', 30123)) }).code,
    ).toBe(0);
    expect(apply(np('wet', 30123)).code).toBe(0);

    // re-applying without the allocated values keeps them; the ClusterIP cannot change
    const before = json(['get', 'svc', 'np2']);
    expect(apply({ ...np('np2'), spec: { ...np('np2').spec, ports: [{ port: 80, targetPort: 9090 }] } }).code).toBe(0);
    const after = json(['get', 'svc', 'np2']);
    expect(after.spec.clusterIP).toBe(before.spec.clusterIP);
    expect(after.spec.ports[0]).toMatchObject({ nodePort: auto, targetPort: 9090 });
    const moved = kubectl(s, ['patch', 'svc', 'np2', '-p', '{"spec":{"clusterIP":"10.43.0.99"}}']);
    expect(moved.stderr).toContain(
      `The Service "np2" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.43.0.99"}: may not change once set`,
    );
    // NodePort -> ClusterIP gives the port back
    expect(kubectl(s, ['patch', 'svc', 'np1', '-p', '{"spec":{"type":"ClusterIP"}}']).code).toBe(0);
    expect(json(['get', 'svc', 'np1']).spec.ports[0].nodePort).toBeUndefined();
    expect(apply(np('np5', 30080)).code).toBe(0);
  });

  it('gives headless Services no ClusterIP', () => {
    expect(
      apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db' },
        spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] },
      }).code,
    ).toBe(0);
    expect(rows(['svc', 'db'])[0]!.slice(0, 5)).toEqual(['db', 'ClusterIP', 'None', '<none>', '5432/TCP']);
  });

  it('shows the node address as a LoadBalancer EXTERNAL-IP', async () => {
    const node = json(['get', 'node', a.node]);
    const internal = node.status.addresses.find((x: any) => x.type === 'InternalIP').address;
    expect(
      apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'lb' },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 8081, targetPort: 8080 }] },
      }).code,
    ).toBe(0);
    const row = await eventually(
      () => {
        const [r] = rows(['svc', 'lb']);
        expect(r![3]).toBe(internal);
        return r!;
      },
      15_000,
      200,
    );
    expect(row[1]).toBe('LoadBalancer');
    expect(row[4]).toMatch(/^8081:3\d{4}\/TCP$/);
    expect(json(['get', 'svc', 'lb']).status.loadBalancer.ingress).toEqual([{ ip: internal, ipMode: 'VIP' }]);
    expect(kubectl(s, ['patch', 'svc', 'lb', '-p', '{"spec":{"type":"ClusterIP"}}']).code).toBe(0);
    expect(rows(['svc', 'lb'])[0]![3]).toBe('<none>');
  });

  it('keeps the seeded Services and every allocation across a server restart', async () => {
    const before = (json(['get', 'svc', '-A']).items as any[]).map((x) => [
      x.metadata.namespace,
      x.metadata.name,
      x.metadata.uid,
      x.spec.clusterIP,
      x.spec.ports.map((p: any) => p.nodePort ?? 0),
    ]);
    await s.restart();
    const after = (json(['get', 'svc', '-A']).items as any[]).map((x) => [
      x.metadata.namespace,
      x.metadata.name,
      x.metadata.uid,
      x.spec.clusterIP,
      x.spec.ports.map((p: any) => p.nodePort ?? 0),
    ]);
    expect(after).toEqual(before);
    expect(rows(['endpoints', 'kubernetes'])[0]![1]).toBe(`${HOST_IP}:${s.port}`);
  });
});
