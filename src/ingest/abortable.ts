import { DomainError } from '../errors';

/**
 * Iterates `source` until it ends or `signal` aborts. grpc-js does not end a
 * server's readable stream when the client cancels, so a plain `for await`
 * would wait forever; this one throws instead, and the handler cleans up.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new DomainError('aborted', 'stream cancelled by the client'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    await iterator.return?.();
  }
}
