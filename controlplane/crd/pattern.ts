// CRD `pattern`s are Go RE2 expressions: compile them as JavaScript RegExps after
// translating what RE2 writes differently (a leading (?i), (?P<name>, \A and \z, POSIX
// classes such as [[:alpha:]]); unicode mode first, then the looser legacy mode, which
// takes escaped punctuation (`\_`, `\:`) as RE2 does.
const POSIX: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  ascii: '\\x00-\\x7F',
  blank: ' \\t',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\s',
  upper: 'A-Z',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
};

const cache = new Map<string, RegExp | Error>();

/** the RegExp of an RE2 pattern, or the error that says why it does not compile */
export function compilePattern(pattern: string): RegExp | Error {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let src = pattern;
  let flags = '';
  const m = /^\(\?([imsU]+)\)/.exec(src);
  if (m) {
    src = src.slice(m[0].length);
    if (m[1]!.includes('i')) flags += 'i';
    if (m[1]!.includes('s')) flags += 's';
    if (m[1]!.includes('m')) flags += 'm';
  }
  src = src
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$')
    .replace(/\[:(\w+):\]/g, (all, name: string) => POSIX[name] ?? all);
  let out: RegExp | Error;
  try {
    out = new RegExp(src, `${flags}u`);
  } catch {
    try {
      out = new RegExp(src, flags);
    } catch (e) {
      out = e as Error;
    }
  }
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, out);
  return out;
}
