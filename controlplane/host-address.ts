// The machine's own address, as kube-apiserver picks its advertise address when bound to
// 0.0.0.0: the IPv4 address of the interface that holds the default route.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export function defaultRouteIPv4(): string | undefined {
  let iface: string | undefined;
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [name, dest, , , , , , mask] = line.trim().split(/\s+/);
      if (dest === '00000000' && mask === '00000000') {
        iface = name;
        break;
      }
    }
  } catch {
    /* not Linux */
  }
  const all = networkInterfaces();
  const v4 = (name: string) => all[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (iface && v4(iface)) return v4(iface);
  for (const name of Object.keys(all)) if (v4(name)) return v4(name);
  return undefined;
}

export const isLoopback = (ip: string): boolean => ip === 'localhost' || ip.startsWith('127.') || ip === '::1';
