import { DomainError } from '../errors/domain-error';

const cancelled = () => new DomainError('aborted', 'stream cancelled by the client');

/**
 * Iterates `source` until it ends or `signal` aborts. grpc-js does not end a
 * server's readable stream when the client cancels, so a plain `for await`
 * could wait forever; this one throws instead, and the handler cleans up.
 * (Each step listens to the signal only while it waits: racing every step
 * against one long-lived promise would keep every item reachable.)
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (signal.aborted) throw cancelled();
      const next = await nextOrAbort(iterator, signal);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

function nextOrAbort<T>(iterator: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T>> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
