// The runtime's errors: every failure a Runtime reports is a RuntimeError, and its
// `reason` is what the pod worker reports where Kubernetes has a name for it
// (ErrImagePull, CreateContainerConfigError, ...). No Docker types here.

export type RuntimeErrorReason =
  | 'NotFound'
  | 'Conflict'
  | 'ErrImagePull'
  | 'ErrImageNeverPull'
  | 'InvalidImageName'
  | 'CreateContainerConfigError'
  | 'InvalidArgument'
  | 'Unavailable'
  | 'RuntimeError';

export class RuntimeError extends Error {
  constructor(
    public readonly reason: RuntimeErrorReason,
    message: string,
    public readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RuntimeError';
  }
}

export class ErrImagePull extends RuntimeError {
  constructor(message: string, statusCode?: number, options?: { cause?: unknown }) {
    super('ErrImagePull', message, statusCode, options);
    this.name = 'ErrImagePull';
  }
}

export class ErrImageNeverPull extends RuntimeError {
  constructor(image: string) {
    // kubelet's message, word for word.
    super('ErrImageNeverPull', `Container image "${image}" is not present with pull policy of Never`);
    this.name = 'ErrImageNeverPull';
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof RuntimeError && e.reason === 'NotFound';
}
