// Relaying a pod stream to the server holding the node's agent (controlplane/agents/peer-relay.ts):
// the client's credentials and impersonation never reach the peer; ours impersonate the user
// the request was authorized as; a relayed request is marked and never relayed again.
import { describe, expect, it } from 'vitest';
import { RELAYED_BY, relayHeaders, wasRelayed } from '../../controlplane/agents/peer-relay.js';

const creds = { token: 'admin-token', self: 'https://10.0.0.1:6443' };

describe('relayHeaders', () => {
  it('drops the client credentials, host and impersonation; impersonates the authorized user with our token', () => {
    const h = relayHeaders(
      {
        authorization: 'Bearer user-token',
        host: 'a:6443',
        'impersonate-user': 'mallory',
        'impersonate-group': 'system:masters',
        'impersonate-extra-scopes': 'x',
        upgrade: 'websocket',
        connection: 'Upgrade',
        'sec-websocket-key': 'k==',
        'sec-websocket-protocol': 'v5.channel.k8s.io',
        [RELAYED_BY]: 'https://forged:1',
      },
      {
        name: 'jane',
        uid: 'u-1',
        groups: ['dev', 'system:authenticated'],
        extra: { 'example.org/team': ['a', 'b'], empty: [] },
      },
      creds,
      '10.0.0.2:6443',
    );
    expect(h).toEqual({
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'k==',
      'sec-websocket-protocol': 'v5.channel.k8s.io',
      host: '10.0.0.2:6443',
      authorization: 'Bearer admin-token',
      'impersonate-user': 'jane',
      'impersonate-uid': 'u-1',
      'impersonate-group': ['dev'],
      'impersonate-extra-example.org%2fteam': ['a', 'b'],
      [RELAYED_BY]: 'https://10.0.0.1:6443',
    });
  });

  it('a user without uid, groups beyond system:authenticated or extras gets only impersonate-user', () => {
    const h = relayHeaders(
      { accept: 'text/plain' },
      { name: 'system:serviceaccount:ns:sa', groups: ['system:authenticated'] },
      creds,
      'b:6443',
    );
    expect(Object.keys(h).filter((k) => k.startsWith('impersonate-'))).toEqual(['impersonate-user']);
    expect(h.accept).toBe('text/plain');
  });

  it('wasRelayed sees the mark', () => {
    expect(wasRelayed({ [RELAYED_BY]: 'https://x:1' })).toBe(true);
    expect(wasRelayed({})).toBe(false);
  });
});
