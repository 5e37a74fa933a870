// The store's in-process broadcaster: events reach every subscriber whose prefix the key
// starts with, in subscription order per prefix; a subscriber that throws is dropped,
// never the writer; closing one leaves the others of its prefix.
import { describe, expect, it } from 'vitest';
import { Broadcaster } from '../../controlplane/store/broadcaster.js';

describe('Broadcaster', () => {
  it('delivers by prefix, drops a throwing subscriber, counts and closes', () => {
    const b = new Broadcaster<string>();
    const got: string[] = [];
    const all = b.subscribe('/registry/pods/', (e) => got.push(`all:${e}`));
    b.subscribe('/registry/pods/ns1/', (e) => got.push(`ns1:${e}`));
    const second = b.subscribe('/registry/pods/', (e) => got.push(`all2:${e}`));
    b.subscribe('/registry/pods/', () => { throw new Error('bad subscriber'); });
    b.subscribe('/registry/nodes/', (e) => got.push(`nodes:${e}`));
    expect(b.count).toBe(5);
    b.publish('/registry/pods/ns1/p', 'e1');
    expect(got).toEqual(['all:e1', 'all2:e1', 'ns1:e1']);
    expect(b.count).toBe(4); // the thrower is gone
    second.close();
    expect(second.closed).toBe(true);
    got.length = 0;
    b.publish('/registry/pods/ns2/q', 'e2');
    b.publish('/registry/nodes/n', 'e3');
    expect(got).toEqual(['all:e2', 'nodes:e3']);
    all.close();
    got.length = 0;
    b.publish('/registry/pods/ns1/p', 'e4');
    expect(got).toEqual(['ns1:e4']);
    b.closeAll();
    expect(b.count).toBe(0);
    b.publish('/registry/pods/ns1/p', 'e5');
    expect(got).toEqual(['ns1:e4']);
  });
});
