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
    b.subscribe('/registry/pods/', () => {
      throw new Error('bad subscriber');
    });
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

describe('Broadcaster triggers', () => {
  it('calls an indexed subscriber only for events with its value, once per event, and all of them when the values are unknown', () => {
    const b = new Broadcaster<{ node?: string; prev?: string }>();
    let looked = 0;
    const valuesOf = (e: { node?: string; prev?: string }) => {
      looked++;
      if (e.node === '?') return undefined;
      if (e.node === '!') throw new Error('cannot read');
      return e.prev === undefined ? [e.node ?? ''] : [e.node ?? '', e.prev];
    };
    const got: string[] = [];
    const subs = Array.from({ length: 50 }, (_, i) =>
      b.subscribe('/p/', (e) => got.push(`n${i}:${e.node}`), { value: `n${i}`, valuesOf }),
    );
    b.subscribe('/p/', (e) => got.push(`all:${e.node}`));
    b.subscribe('/p/', (e) => got.push(`unbound:${e.node}`), { value: '', valuesOf });
    expect(b.count).toBe(52);
    b.publish('/p/x', { node: 'n3' });
    expect(got).toEqual(['all:n3', 'n3:n3']);
    expect(looked).toBe(1);
    got.length = 0;
    b.publish('/p/x', { node: 'n4', prev: 'n3' }); // moved: both hear of it
    expect(got.sort()).toEqual(['all:n4', 'n3:n4', 'n4:n4']);
    got.length = 0;
    b.publish('/p/x', { node: 'n5', prev: 'n5' }); // the same value twice: once
    expect(got.sort()).toEqual(['all:n5', 'n5:n5']);
    got.length = 0;
    b.publish('/p/x', {});
    expect(got.sort()).toEqual(['all:undefined', 'unbound:undefined']);
    got.length = 0;
    b.publish('/p/x', { node: '?' });
    expect(got).toHaveLength(52);
    got.length = 0;
    b.publish('/p/x', { node: '!' });
    expect(got).toHaveLength(52);
    // closing removes the subscriber from its index; the last one of a value empties it
    subs[3]!.close();
    got.length = 0;
    b.publish('/p/x', { node: 'n3' });
    expect(got).toEqual(['all:n3']);
    expect(b.count).toBe(51);
    for (const s of subs) s.close();
    expect(b.count).toBe(2);
  });

  it('drops an indexed subscriber that throws, and only it', () => {
    const b = new Broadcaster<string>();
    const valuesOf = (e: string) => [e];
    const got: string[] = [];
    const bad = b.subscribe(
      '/p/',
      () => {
        throw new Error('bad');
      },
      { value: 'a', valuesOf },
    );
    b.subscribe('/p/', (e) => got.push(e), { value: 'a', valuesOf });
    b.publish('/p/k', 'a');
    b.publish('/p/k', 'a');
    expect(got).toEqual(['a', 'a']);
    expect(bad.closed).toBe(true);
    expect(b.count).toBe(1);
  });
});
