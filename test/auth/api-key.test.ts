import {
  API_KEY_SCHEME,
  base62,
  displayPrefix,
  generateApiKey,
  isWellFormedApiKey,
  KEY_BODY_LENGTH,
  KEY_PREFIX_LENGTH,
  keyDigest,
  keyPrefix,
} from '../../src/auth/api-key';
import { bcryptKeyHasher } from '../../src/auth/key-hasher';
import { peerAddress } from '../../src/auth/peer-address';
import { captureLogger } from '../helpers/log-capture';

describe('API keys', () => {
  test('a key is cs_live_ and 43 base62 characters of 32 random bytes; its prefix is the first 12 after the scheme', () => {
    const { key, prefix } = generateApiKey();
    expect(key).toMatch(/^cs_live_[0-9A-Za-z]{43}$/);
    expect(prefix).toBe(key.slice(API_KEY_SCHEME.length, API_KEY_SCHEME.length + KEY_PREFIX_LENGTH));
    expect(keyPrefix(key)).toBe(prefix);
    expect(isWellFormedApiKey(key)).toBe(true);
    expect(displayPrefix(prefix)).toBe(`cs_live_${prefix}…`);
  });

  test('base62 is exact and fixed-length for the smallest and largest 32-byte values', () => {
    expect(base62(new Uint8Array(32), KEY_BODY_LENGTH)).toBe('0'.repeat(43));
    const max = base62(new Uint8Array(32).fill(255), KEY_BODY_LENGTH);
    expect(max).toHaveLength(43);
    // Decode it back: 2^256 - 1.
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const decoded = [...max].reduce((n, c) => n * 62n + BigInt(alphabet.indexOf(c)), 0n);
    expect(decoded).toBe(2n ** 256n - 1n);
    expect(base62(Uint8Array.from([1, 0]), 3)).toBe('048'); // 256 = 4 * 62 + 8
  });

  test('keys come from the random source, and many keys have distinct prefixes', () => {
    const fixed = generateApiKey(() => new Uint8Array(32).fill(7));
    expect(fixed.key).toBe(generateApiKey(() => new Uint8Array(32).fill(7)).key);
    const prefixes = new Set(Array.from({ length: 2000 }, () => generateApiKey().prefix));
    expect(prefixes.size).toBe(2000);
  });

  test('malformed keys are recognised without any lookup', () => {
    const { key } = generateApiKey();
    for (const bad of ['', 'cs_live_', key.slice(0, -1), `${key}x`, key.replace('cs_live_', 'cs_test_'), `${key.slice(0, -1)}-`]) {
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
  });

  test('the cache digest is a SHA-256 that does not contain the key', () => {
    const { key } = generateApiKey();
    const digest = keyDigest(key);
    expect(digest).toHaveLength(43);
    expect(digest).toBe(keyDigest(key));
    expect(digest).not.toContain(key.slice(API_KEY_SCHEME.length, API_KEY_SCHEME.length + 8));
  });

  test('bcrypt hasher verifies the key and rejects others and garbage hashes', async () => {
    const hasher = bcryptKeyHasher(4);
    const { key } = generateApiKey();
    const hash = await hasher.hash(key);
    expect(hash).toMatch(/^\$2[aby]\$04\$/);
    expect(hash).not.toContain(key);
    await expect(hasher.compare(key, hash)).resolves.toBe(true);
    await expect(hasher.compare(generateApiKey().key, hash)).resolves.toBe(false);
    await expect(hasher.compare(key, 'not-a-bcrypt-hash')).resolves.toBe(false);
  });
});

describe('peerAddress', () => {
  test.each([
    ['127.0.0.1:5555', '127.0.0.1'],
    ['ipv4:10.0.0.7:41000', '10.0.0.7'],
    ['::1:5555', '::1'],
    ['::ffff:127.0.0.1:5555', '::ffff:127.0.0.1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['ipv6:[::1]:443', '::1'],
    ['::1', '::1'],
    ['unknown', 'unknown'],
    ['/tmp/x.sock', '/tmp/x.sock'],
  ])('%s -> %s', (peer, address) => {
    expect(peerAddress(peer)).toBe(address);
  });
});

describe('log redaction', () => {
  test('keys in authorization, apiKey and api_key fields are redacted, at debug level too', () => {
    const { key } = generateApiKey();
    const logs = captureLogger('debug');
    logs.logger.debug({ authorization: `Bearer ${key}` }, 'a');
    logs.logger.debug({ metadata: { authorization: `Bearer ${key}` } }, 'b');
    logs.logger.debug({ apiKey: key, result: { apiKey: key }, api_key: key }, 'c');
    logs.logger.child({ component: 'x' }).info({ request: { headers: { authorization: key } } }, 'd');
    expect(logs.lines).toHaveLength(4);
    expect(logs.text()).not.toContain(key);
    expect(logs.text()).toContain('[REDACTED]');
  });
});
