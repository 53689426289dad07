import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys: `cs_live_` followed by 32 cryptographically random bytes in
 * base62 (always 43 characters). A key is shown once and never stored: the
 * database keeps its lookup prefix (the first KEY_PREFIX_LENGTH characters
 * after `cs_live_`, unique and indexed) and a bcrypt hash of the whole key.
 */
export const API_KEY_SCHEME = 'cs_live_';
export const KEY_BODY_LENGTH = 43;
/** 12 base62 characters: about 71 bits, so prefixes of random keys do not collide in practice. */
export const KEY_PREFIX_LENGTH = 12;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(`^${API_KEY_SCHEME}[0-9A-Za-z]{${KEY_BODY_LENGTH}}$`);

/** Base62 of a byte string as an unsigned big-endian number, left-padded to `length`. */
export function base62(bytes: Uint8Array, length: number): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, '0');
}

export interface NewApiKey {
  /** The full key: shown once to the operator, never stored or logged. */
  readonly key: string;
  /** Stored in collectors.key_prefix to find the row for a presented key. */
  readonly prefix: string;
}

export function generateApiKey(random: (size: number) => Uint8Array = randomBytes): NewApiKey {
  const key = `${API_KEY_SCHEME}${base62(random(32), KEY_BODY_LENGTH)}`;
  return { key, prefix: keyPrefix(key) };
}

/** True when `text` has the exact shape of a key (cheap check before any lookup). */
export function isWellFormedApiKey(text: string): boolean {
  return KEY_PATTERN.test(text);
}

export function keyPrefix(key: string): string {
  return key.slice(API_KEY_SCHEME.length, API_KEY_SCHEME.length + KEY_PREFIX_LENGTH);
}

/** How a key is shown after creation (list output): the scheme and prefix only. */
export function displayPrefix(prefix: string): string {
  return `${API_KEY_SCHEME}${prefix}…`;
}

/** SHA-256 of a key: the auth cache's key, so the cache never holds the key itself. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
