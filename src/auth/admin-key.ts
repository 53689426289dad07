import { randomBytes } from 'node:crypto';
import { base62, KEY_BODY_LENGTH, KEY_PREFIX_LENGTH } from './api-key';

/**
 * Admin keys: `cs_admin_` followed by 32 random bytes in base62, the same
 * shape as collector keys (api-key.ts) under another scheme, so a key says
 * what it may do before any lookup. Stored as a lookup prefix and a bcrypt
 * hash in admin_keys; shown once.
 */
export const ADMIN_KEY_SCHEME = 'cs_admin_';
const ADMIN_KEY_PATTERN = new RegExp(`^${ADMIN_KEY_SCHEME}[0-9A-Za-z]{${KEY_BODY_LENGTH}}$`);

export function generateAdminKey(random: (size: number) => Uint8Array = randomBytes): { key: string; prefix: string } {
  const key = `${ADMIN_KEY_SCHEME}${base62(random(32), KEY_BODY_LENGTH)}`;
  return { key, prefix: adminKeyPrefix(key) };
}

export function isWellFormedAdminKey(text: string): boolean {
  return ADMIN_KEY_PATTERN.test(text);
}

export function adminKeyPrefix(key: string): string {
  return key.slice(ADMIN_KEY_SCHEME.length, ADMIN_KEY_SCHEME.length + KEY_PREFIX_LENGTH);
}

/** How an admin key is shown after creation: the scheme and prefix only. */
export function displayAdminPrefix(prefix: string): string {
  return `${ADMIN_KEY_SCHEME}${prefix}…`;
}
