// --token-auth-file: kube-apiserver's static token file, one CSV line per token:
// token,user,uid[,"group1,group2,…"] (lines starting with # and blank lines skipped).
import { readFileSync } from 'node:fs';
import type { TokenAuthenticator } from '../api/auth.js';

export interface StaticToken {
  token: string;
  name: string;
  uid: string;
  groups: string[];
}

/** one CSV record: comma-separated fields, "double quoted" fields may hold commas ("" = ") */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new Error('unterminated quoted field');
  out.push(cur);
  return out;
}

export function parseTokenFile(text: string): StaticToken[] {
  const out: StaticToken[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let f: string[];
    try {
      f = csvFields(line);
    } catch (e) {
      throw new Error(`token file line ${i + 1}: ${(e as Error).message}`);
    }
    if (f.length < 3) throw new Error(`token file line ${i + 1}: want token,user,uid[,groups], got ${f.length} fields`);
    const [token, name, uid] = f as [string, string, string];
    if (!token || !name) throw new Error(`token file line ${i + 1}: token and user must not be empty`);
    const groups =
      f.length > 3
        ? f
            .slice(3)
            .join(',')
            .split(',')
            .map((g) => g.trim())
            .filter((g) => g !== '')
        : [];
    out.push({ token, name, uid, groups });
  });
  return out;
}

/** read the file and add each token to the authenticator */
export function loadTokenFile(path: string, auth: TokenAuthenticator): number {
  const tokens = parseTokenFile(readFileSync(path, 'utf8'));
  for (const t of tokens) {
    const user: { name: string; groups: string[]; uid?: string } = { name: t.name, groups: t.groups };
    if (t.uid) user.uid = t.uid;
    auth.add(t.token, user);
  }
  return tokens.length;
}
