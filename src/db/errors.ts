/**
 * The one place that classifies database errors: unavailable (retry later,
 * UNAVAILABLE) or a transient conflict (retry the transaction now).
 */

/** Node socket errors that mean the database server cannot be reached. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * True when an error means the database is down or unreachable (as opposed
 * to a bad query): connection failures, admin shutdown, "cannot connect now",
 * and pg's own timeouts while acquiring a connection.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== 'object') return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONNECTION_ERROR_CODES.has(code)) return true;
      // 08xxx: connection exceptions; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
      if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    }
    const message = (e as { message?: unknown }).message;
    if (
      typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection timeout/i.test(
        message,
      )
    ) {
      return true;
    }
  }
  return false;
}

/** A deadlock (40P01) or serialization failure (40001): retrying the transaction may succeed. */
export function isTransientConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * A foreign-key violation (23503): a row the statement references was deleted
 * by a concurrent transaction (data lifecycle deletes unreferenced dimension
 * rows). Retrying with the rows looked up again succeeds.
 */
export function isConcurrentDeletion(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23503';
}
