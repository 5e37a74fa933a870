// Image references normalised as Docker's reference.ParseNormalizedNamed does:
// "busybox" -> docker.io/library/busybox:latest, "skiff.local/busybox" -> skiff.local/busybox:latest.

export interface ImageRef {
  /** domain/path, e.g. docker.io/library/busybox. */
  repository: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
  /** repository:tag, or repository@digest when a digest is given (tag dropped, as Docker pulls by digest). */
  normalized: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';

export function parseImageRef(ref: string): ImageRef {
  const input = ref.trim();
  if (!input || /\s/.test(input)) {
    throw new Error(`invalid image reference ${JSON.stringify(ref)}`);
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest))
      throw new Error(`invalid digest in image reference ${JSON.stringify(ref)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`invalid tag in image reference ${JSON.stringify(ref)}`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry when it looks like a host.
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (
    !path ||
    path !== path.toLowerCase() ||
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)
  ) {
    throw new Error(`invalid reference format: repository name must be lowercase (${JSON.stringify(ref)})`);
  }
  const repository = `${domain}/${path}`;
  if (!tag && !digest) tag = 'latest';
  const normalized = digest ? `${repository}@${digest}` : `${repository}:${tag}`;
  return { repository, domain, path, tag, digest, normalized };
}

/** Docker Hub images show as "busybox" / "user/app" in RepoTags and RepoDigests: the familiar name. */
export function familiarRepository(ref: ImageRef): string {
  if (ref.domain !== DEFAULT_DOMAIN) return ref.repository;
  return ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path;
}
