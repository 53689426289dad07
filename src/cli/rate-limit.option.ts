import { InvalidArgumentError } from 'commander';

/** What `--rate-limit` asks for: a number per minute, null for the server default, undefined to leave as is. */
export interface RateLimitSpec {
  readonly requestsPerMin?: number | null;
  readonly messagesPerMin?: number | null;
}

const KEYS: Record<string, keyof RateLimitSpec> = { requests: 'requestsPerMin', messages: 'messagesPerMin' };

/**
 * Parses `requests=600,messages=100000` (either part may be left out; a value
 * of `default` returns that limit to the server's configured default).
 */
export function parseRateLimit(text: string): RateLimitSpec {
  const spec: { requestsPerMin?: number | null; messagesPerMin?: number | null } = {};
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('expected requests=N and/or messages=N, e.g. requests=600,messages=100000');
  for (const part of parts) {
    const match = /^([a-z]+)\s*=\s*(\S+)$/i.exec(part);
    const key = match ? KEYS[match[1].toLowerCase()] : undefined;
    if (!match || !key) {
      throw new InvalidArgumentError(`"${part}" is not requests=N or messages=N (e.g. requests=600,messages=100000)`);
    }
    if (key in spec) throw new InvalidArgumentError(`${match[1]} is given twice`);
    const value = match[2].toLowerCase();
    if (value === 'default') {
      spec[key] = null;
      continue;
    }
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647) {
      throw new InvalidArgumentError(`${match[1]} must be a whole number from 1 to 2147483647 per minute, or "default"`);
    }
    spec[key] = Number(value);
  }
  return spec;
}
