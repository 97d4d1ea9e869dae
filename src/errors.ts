// One error class with a stable `code` from a closed set (the undici habit): callers
// branch on `code`, logs carry the `cause`, and `transient` says whether a retry can help.
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INPUT_INVALID'
  // a bug: an input made the daemon throw; the input was refused, the daemon kept running
  | 'INTERNAL'
  | 'INSTANCE_LOCKED'
  | 'KERNEL_NACK'
  | 'KERNEL_IO'
  | 'LIMIT_EXCEEDED'
  | 'ROUTE_FILTERED'
  | 'NETLINK_DECODE'
  | 'ROUTE_CONFLICT'
  | 'SOURCE_IO'
  | 'UNSUPPORTED';

export class Rfc5549Error extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Rfc5549Error';
    this.code = code;
    this.transient = options.transient ?? false;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
