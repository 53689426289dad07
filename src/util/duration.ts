const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration such as `30s`, `15m`, `12h`, `90d` or `250ms` into
 * milliseconds. A bare number is taken as milliseconds. Returns undefined
 * when the text is not a duration, so callers can name the offending input.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = (match[2] ?? 'ms').toLowerCase();
  const ms = Math.round(value * UNIT_MS[unit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Formats milliseconds back into the largest whole unit (`90d`, `15m`, `250ms`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
