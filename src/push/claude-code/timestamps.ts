const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/i;

/** Parses an RFC 3339 timestamp into ns since the epoch, keeping sub-millisecond digits. */
export function parseTimestampNs(value: unknown): bigint | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO.exec(value.trim());
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + fraction;
}

/**
 * The emitted time of every line: its own timestamp, else the previous
 * line's, else the first later one (summaries carry none), else 0. Lines
 * only ever get appended, so a line's value never changes once it has a
 * timestamped line before it.
 */
export function fillTimestamps(raw: Array<bigint | undefined>): bigint[] {
  const first = raw.find((t) => t !== undefined) ?? 0n;
  let last: bigint | undefined;
  return raw.map((t) => {
    if (t !== undefined) last = t;
    return last ?? first;
  });
}
