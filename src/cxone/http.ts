/** Small helpers shared by the CXone HTTP clients: per-request signals and bounded body reads. */

export type FetchLike = typeof fetch;

export interface RequestSignal {
  signal: AbortSignal;
  /** True once the per-request timeout fired (as opposed to the caller aborting). */
  timedOut(): boolean;
  /** Detaches from the parent signal; call in `finally`. */
  dispose(): void;
}

/**
 * A signal that aborts when `timeoutMs` passes (AbortSignal.timeout) or when `parent` aborts.
 * Linked by hand rather than with AbortSignal.any, which leaks on Node 20 when one input is
 * long-lived like a shutdown signal (nodejs/node#55351); dispose() removes our listeners.
 */
export function requestSignal(timeoutMs: number, parent?: AbortSignal): RequestSignal {
  const controller = new AbortController();
  const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
  let fired = false;
  const onTimeout = () => {
    fired = true;
    controller.abort(timeout.reason);
  };
  const onParent = () => controller.abort(parent?.reason);
  timeout.addEventListener('abort', onTimeout, { once: true });
  if (parent) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', onParent, { once: true });
  }
  return {
    signal: controller.signal,
    timedOut: () => fired,
    dispose: () => {
      timeout.removeEventListener('abort', onTimeout);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/**
 * Reads at most `maxBytes` of a response body as UTF-8 and discards the rest, so a misbehaving
 * server cannot make us buffer without bound. Always releases the connection.
 */
export async function readBodyLimited(response: Response, maxBytes = 64 * 1024): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - total;
      if (value.byteLength >= room) {
        chunks.push(value.subarray(0, room));
        total += room;
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** Drops a response body we do not need, releasing the connection. */
export async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing useful to do: the connection is torn down either way.
  }
}

/** A short, single-line excerpt of server text for error messages and logs. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Describes a fetch rejection without dumping stacks: the cause code when there is one. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return `${err.message}: ${typeof code === 'string' ? `${code} ` : ''}${cause.message}`.trim();
    }
    return err.message;
  }
  return String(err);
}

/** Origin plus path of a URL, without query or credentials, for log lines. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
