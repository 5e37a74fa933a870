// command/args -> Docker Entrypoint/Cmd, exactly as Kubernetes: command replaces the
// image's ENTRYPOINT (and drops its CMD), args replace CMD, and $(VAR) references are
// expanded from the container's environment first (kubelet's expandContainerCommandAndArgs).

/**
 * Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion): $(NAME) becomes the
 * value when NAME is defined and stays as written when not; $$ is an escaped $.
 */
export function expandVars(input: string, env: Record<string, string>): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        // Unterminated: kept as is.
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : `$(${name})`;
      i = close + 1;
    } else {
      out += '$' + next;
      i += 2;
    }
  }
  return out;
}

export interface EntrypointCmd {
  /** undefined = keep the image's ENTRYPOINT. */
  entrypoint?: string[];
  /** undefined = the image's CMD applies (only when entrypoint is undefined too: Docker drops the image CMD when an entrypoint is given). */
  cmd?: string[];
}

export function entrypointAndCmd(
  command: string[] | null | undefined,
  args: string[] | null | undefined,
  env: Record<string, string>,
): EntrypointCmd {
  const out: EntrypointCmd = {};
  if (command && command.length > 0) out.entrypoint = command.map((s) => expandVars(s, env));
  if (args && args.length > 0) out.cmd = args.map((s) => expandVars(s, env));
  return out;
}
