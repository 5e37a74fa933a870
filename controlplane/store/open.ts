// Which backend a server stores its state in: the embedded SQLite file in the data dir
// (the default), or etcd when --datastore-endpoint names its members.
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { SqliteStore } from './sqlite.js';
import { EtcdStore } from './etcd.js';
import type { Store } from './types.js';

export const SQLITE_FILE = 'state.db';

export async function openBackend(cfg: Pick<ServerConfig, 'dataDir' | 'datastore'>): Promise<Store> {
  if (!cfg.datastore) return new SqliteStore(join(cfg.dataDir, SQLITE_FILE));
  return new EtcdStore(cfg.datastore).open();
}
