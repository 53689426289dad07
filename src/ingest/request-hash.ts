import { createHash, type Hash } from 'node:crypto';
import { Session } from '../../generated/catsyphon/telemetry/v1/sessions';

/**
 * SHA-256 over each session's canonical encoding, length-prefixed: the same
 * for unary and stream, however chunked, and whatever order the client wrote
 * map entries in (Go and prost re-marshal maps in random order, so a retry
 * of the same batch may differ byte for byte).
 */
export class SessionHasher {
  private readonly hash: Hash = createHash('sha256');
  /** Encoded size of the sessions added so far (the audit trail's request bytes of a stream). */
  bytes = 0;

  add(session: Session): void {
    const bytes = Session.encode(withSortedMaps(session)).finish();
    this.bytes += bytes.length;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length);
    this.hash.update(len).update(bytes);
  }

  private result: Buffer | undefined;

  /** The digest of everything added; the same Buffer on every call (a retried transaction asks again). */
  digest(): Buffer {
    this.result ??= this.hash.digest();
    return this.result;
  }
}

type StringMap = { [key: string]: string };

/** The map with its entries in sorted key order (itself when already so). */
function sortedMap(map: StringMap): StringMap {
  const keys = Object.keys(map);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1] < keys[i];
  if (sorted) return map;
  // Null prototype: a "__proto__" key stays an ordinary entry.
  const out: StringMap = Object.create(null) as StringMap;
  for (const key of keys.sort()) out[key] = map[key];
  return out;
}

/** A shallow copy of the session whose map fields iterate in key order; the input is not changed. */
function withSortedMaps(s: Session): Session {
  return {
    ...s,
    metadata: sortedMap(s.metadata),
    project: s.project && { ...s.project, metadata: sortedMap(s.project.metadata) },
    developer: s.developer && { ...s.developer, metadata: sortedMap(s.developer.metadata) },
    threads: s.threads.map((t) => ({
      ...t,
      metadata: sortedMap(t.metadata),
      messages: t.messages.map((m) => {
        const metadata = sortedMap(m.metadata);
        return metadata === m.metadata ? m : { ...m, metadata };
      }),
    })),
  };
}

export function hashSessions(sessions: readonly Session[]): Buffer {
  const h = new SessionHasher();
  for (const s of sessions) h.add(s);
  return h.digest();
}
