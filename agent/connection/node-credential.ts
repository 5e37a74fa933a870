// The node's own credential (k3s' node password): 32 random bytes, made on the agent's
// first start and kept in its data dir (mode 0600), presented in every register. The
// server keeps only a hash and refuses its node name to anyone without it, so the file
// must survive agent restarts and upgrades; losing it (a reinstalled machine) means the
// Node must be deleted before this machine can join under its old name again.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const NODE_CREDENTIAL_FILE = 'node-password';
const VALID = /^[A-Za-z0-9_-]{32,256}$/;

export class NodeCredentialError extends Error {}

export function nodeCredentialPath(dataDir: string): string {
  return join(dataDir, NODE_CREDENTIAL_FILE);
}

/**
 * The credential in `dataDir`, made now if there is none. A file that is there but
 * unreadable or not a credential is an error (making a new one would lock the node out
 * just the same, and silently); one readable by others is made 0600 again.
 */
export function loadOrCreateNodeCredential(
  dataDir: string,
  onWarning: (msg: string) => void = () => undefined,
): { credential: string; created: boolean; path: string } {
  const path = nodeCredentialPath(dataDir);
  const existing = read(path);
  if (existing !== undefined) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(path, 0o600);
      onWarning(`${path} was readable by others (mode ${mode.toString(8)}): made it 0600`);
    }
    return { credential: existing, created: false, path };
  }
  const credential = randomBytes(32).toString('base64url');
  // written whole to a temporary file, then linked into place: a crash leaves either no
  // credential or a complete one, and of two agents starting at once only one wins
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${credential}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const other = read(path);
    if (other === undefined) throw new NodeCredentialError(`${path}: cannot create the node credential`);
    return { credential: other, created: false, path };
  } finally {
    unlinkSync(tmp);
  }
  return { credential, created: true, path };
}

function read(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new NodeCredentialError(`${path}: cannot read the node credential: ${(e as Error).message}`);
  }
  const v = text.trim();
  if (!VALID.test(v)) {
    throw new NodeCredentialError(
      `${path} does not hold a node credential: if this node's credential is lost, delete the file and the Node (kubectl delete node <name>) so that this agent joins as a new node`,
    );
  }
  return v;
}
