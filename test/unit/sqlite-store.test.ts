// The Store conformance suite (store-conformance.ts) on the embedded SQLite backend.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { Store } from '../../controlplane/store/types.js';
import { describeStoreConformance } from './store-conformance.js';

const path = (s: Store) => (s as SqliteStore).path;

describeStoreConformance('SQLite', {
  open: async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'skiff-store-')), 'state.db')),
  reopen: async (s) => {
    await s.close();
    return new SqliteStore(path(s));
  },
  dispose: async (s) => {
    await s.close();
    rmSync(dirname(path(s)), { recursive: true, force: true });
  },
});
