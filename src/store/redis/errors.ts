/**
 * The one error the Redis store throws for anything that went wrong talking to Redis: refused or
 * lost connection, a command not answered within the timeout, a full client queue, an error reply.
 * The caller answers 503 (`REDIS_FAILURE_POLICY=reject`) or decides locally (`local`); it never
 * needs to tell the causes apart, and `cause` keeps the original for logs.
 *
 * A timeout is ambiguous: the command may still have run on the server (see docs/redis.md).
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  /** Which store operation failed, e.g. `observe`, `commit`, `getState`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super(`redis ${operation}: ${message}`, options);
    this.operation = operation;
  }
}

/** Wraps whatever a client call threw (or rejected with) as a RedisUnavailableError. */
export function unavailable(operation: string, err: unknown): RedisUnavailableError {
  if (err instanceof RedisUnavailableError) return err;
  const message = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return new RedisUnavailableError(operation, message, { cause: err });
}
