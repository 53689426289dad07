import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ExportSessionsRequest } from '../../generated/catsyphon/telemetry/v1/sessions';
import { type Rng, SessionGenerator, simpleSession } from './session-gen';

/** One hostile request body and how it was made (for failure messages). */
export interface FuzzInput {
  readonly kind: string;
  readonly bytes: Buffer;
}

const INT64_EXTREMES = [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n];
const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xed, 0xa0, 0x80]), // a lone surrogate
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
];

/**
 * Deterministic hostile inputs for ExportSessions / SessionBatch bodies:
 * random bytes, mutations and truncations of valid encodings, wrong wire
 * types, thousands of repeated fields, huge strings, invalid UTF-8, NUL bytes
 * and extreme numbers.
 */
export class FuzzInputs {
  private readonly gen: SessionGenerator;
  private readonly seeds: Buffer[] = [];
  private readonly seedsWithoutBatchId: Buffer[] = [];

  constructor(private readonly rng: Rng) {
    this.gen = new SessionGenerator(rng);
    // Small valid requests to mutate: most mutants still decode, and are then validated and stored.
    for (let i = 0; i < 8; i++) {
      const request = ExportSessionsRequest.fromPartial({
        batchId: `fuzz-seed-${i}`,
        sessions: [i % 2 ? simpleSession(`seed-${i}`, 2, 2) : this.gen.session(1)],
      });
      this.seeds.push(Buffer.from(ExportSessionsRequest.encode(request).finish()));
      this.seedsWithoutBatchId.push(Buffer.from(ExportSessionsRequest.encode({ ...request, batchId: '' }).finish()));
    }
  }

  next(i: number): FuzzInput {
    // Expensive shapes, kept rare so the run stays short.
    if (i % 997 === 0) return { kind: 'thousands of sessions', bytes: this.manySessions(5_000) };
    if (i % 991 === 0) return { kind: 'thousands of messages', bytes: this.manyMessages(i, 5_000) };
    if (i % 983 === 0) return { kind: 'huge string', bytes: this.hugeString(i, this.rng.int(1, 4) * 1024 * 1024) };
    if (i % 977 === 0) return { kind: 'thousands of metadata entries', bytes: this.manyMetadata(i, 3_000) };
    // Weighted: most inputs probe the decoder (cheap); about one in eight
    // decodes into sessions that reach validation and the database.
    const strategies: Array<[number, string, () => Buffer]> = [
      [20, 'random bytes', () => this.randomBytes(this.rng.int(0, 512))],
      [15, 'truncated', () => this.seed(i).subarray(0, this.rng.int(0, this.seed(i).length - 1))],
      [15, 'wrong wire type', () => this.wrongWireType(this.seed(i))],
      [15, 'invalid utf-8', () => this.invalidUtf8(i)],
      [5, 'bad varints', () => this.badVarint()],
      [10, 'mutated, no batch_id', () => this.mutate(this.seed(i, false))],
      [8, 'mutated', () => this.mutate(this.seed(i))],
      [3, 'spliced', () => Buffer.concat([this.seed(i), this.mutate(this.seed(i + 1))])],
      [3, 'nul bytes', () => this.nulBytes(i)],
      [3, 'extreme numbers', () => this.extremeNumbers(i)],
    ];
    let roll = this.rng.int(1, strategies.reduce((sum, [w]) => sum + w, 0));
    for (const [weight, kind, make] of strategies) {
      roll -= weight;
      if (roll <= 0) return { kind, bytes: make() };
    }
    throw new Error('unreachable');
  }

  /** A valid encoded request; without a batch_id it is refused right after decoding. */
  private seed(i: number, withBatchId = true): Buffer {
    return (withBatchId ? this.seeds : this.seedsWithoutBatchId)[i % this.seeds.length];
  }

  private randomBytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let k = 0; k < n; k++) b[k] = this.rng.int(0, 255);
    return b;
  }

  private mutate(source: Buffer): Buffer {
    const b = Buffer.from(source);
    const edits = this.rng.int(1, 8);
    for (let e = 0; e < edits && b.length > 0; e++) {
      const at = this.rng.int(0, b.length - 1);
      const op = this.rng.int(0, 3);
      if (op === 0) b[at] ^= 1 << this.rng.int(0, 7);
      else if (op === 1) b[at] = this.rng.int(0, 255);
      else if (op === 2) b[at] = this.rng.pick([0x00, 0x7f, 0x80, 0xff]);
      else b[at] = b[this.rng.int(0, b.length - 1)];
    }
    return b;
  }

  /** Rewrites the first tag's wire type (field 3 sessions as varint, fixed64, group...). */
  private wrongWireType(source: Buffer): Buffer {
    const b = Buffer.from(source);
    const at = this.rng.chance(0.5) ? 0 : this.rng.int(0, b.length - 1);
    b[at] = (b[at] & 0xf8) | this.rng.pick([0, 1, 3, 4, 5, 6, 7]);
    return b;
  }

  private request(i: number, patch: (w: BinaryWriter) => void): Buffer {
    const w = new BinaryWriter();
    w.uint32((2 << 3) | 2).string(`fuzz-${i}`);
    patch(w);
    return Buffer.from(w.finish());
  }

  /** A session (field 3) whose body the caller writes. */
  private session(w: BinaryWriter, body: (s: BinaryWriter) => void): void {
    const s = new BinaryWriter();
    body(s);
    w.uint32((3 << 3) | 2).bytes(s.finish());
  }

  private thread(s: BinaryWriter, body: (t: BinaryWriter) => void): void {
    const t = new BinaryWriter();
    t.uint32((1 << 3) | 2).string('main');
    body(t);
    s.uint32((9 << 3) | 2).bytes(t.finish());
  }

  private message(t: BinaryWriter, body: (m: BinaryWriter) => void): void {
    const m = new BinaryWriter();
    body(m);
    t.uint32((5 << 3) | 2).bytes(m.finish());
  }

  /** Raw invalid UTF-8 in one of several string fields. */
  private invalidUtf8(i: number): Buffer {
    const bad = Buffer.concat([Buffer.from('x'), this.rng.pick(INVALID_UTF8), Buffer.from('y')]);
    const where = this.rng.int(0, 3);
    if (where === 0) return Buffer.concat([this.request(i, () => undefined), tagged(2, bad)]);
    return this.request(i, (w) =>
      this.session(w, (s) => {
        if (where === 1) s.uint32((1 << 3) | 2).bytes(bad);
        else
          this.thread(s, (t) =>
            this.message(t, (m) => {
              m.uint32(8).int32(1).uint32(16).int32(1).uint32(32).int32(1);
              if (where === 2) m.uint32((5 << 3) | 2).bytes(bad);
              else m.uint32((13 << 3) | 2).bytes(Buffer.concat([tagged(1, bad), tagged(2, Buffer.from('v'))]));
            }),
          );
      }),
    );
  }

  private nulBytes(i: number): Buffer {
    const nul = `a\u0000b\u0000${this.gen.text(4)}`;
    return this.request(i, (w) =>
      this.session(w, (s) => {
        s.uint32((1 << 3) | 2).string(this.rng.chance(0.5) ? nul : `nul-${i}`);
        s.uint32(16).int32(1);
        this.thread(s, (t) => {
          if (this.rng.chance(0.5)) t.uint32((2 << 3) | 2).string(nul);
          this.message(t, (m) => {
            m.uint32(8).int32(1).uint32(16).int32(1).uint32(32).int32(1);
            m.uint32((5 << 3) | 2).string(nul);
            m.uint32((3 << 3) | 2).string(nul);
          });
        });
      }),
    );
  }

  private extremeNumbers(i: number): Buffer {
    const n = () => this.rng.pick(INT64_EXTREMES);
    const i32 = () => this.rng.pick([-2147483648, 2147483647, -1, 0]);
    return this.request(i, (w) =>
      this.session(w, (s) => {
        s.uint32((1 << 3) | 2).string(`extreme-${i}`);
        s.uint32(16).int32(i32()); // assistant
        s.uint32(48).int64(n()).uint32(56).int64(n()).uint32(64).int32(i32());
        this.thread(s, (t) => {
          t.uint32(24).int32(i32()).uint32(48).int64(n()).uint32(56).int64(n()).uint32(64).int64(n());
          this.message(t, (m) => {
            m.uint32(8).int32(i32()).uint32(16).int32(i32()).uint32(32).int32(i32());
            m.uint32(48).int64(n()).uint32(56).int64(n());
            const tokens = new BinaryWriter().uint32(8).int32(i32()).uint32(16).int32(i32()).finish();
            m.uint32((8 << 3) | 2).bytes(tokens);
            const file = new BinaryWriter().uint32(10).string('f').uint32(16).int32(i32()).uint32(24).int32(i32()).uint32(40).int64(n()).finish();
            m.uint32((11 << 3) | 2).bytes(file);
          });
        });
      }),
    );
  }

  /** Varints that overflow 64 bits or never end, and lengths past the end. */
  private badVarint(): Buffer {
    const choice = this.rng.int(0, 2);
    if (choice === 0) return Buffer.from([0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    if (choice === 1) return Buffer.from([0x12, 0x80, 0x80, 0x80, 0x80, 0x80]);
    return Buffer.from([0x1a, 0xf0, 0xff, 0xff, 0xff, 0x0f, 0x00]);
  }

  private manySessions(count: number): Buffer {
    return this.request(-count, (w) => {
      for (let k = 0; k < count; k++) this.session(w, (s) => s.uint32(10).string(`many-${k}`));
    });
  }

  private manyMessages(i: number, count: number): Buffer {
    return this.request(i, (w) =>
      this.session(w, (s) => {
        s.uint32(10).string(`many-messages-${i}`).uint32(16).int32(1);
        this.thread(s, (t) => {
          for (let k = 0; k < count; k++) {
            // Every other seq repeats, so the session fails validation.
            this.message(t, (m) => m.uint32(8).int32(1 + Math.floor(k / 2)).uint32(16).int32(1).uint32(32).int32(1));
          }
        });
      }),
    );
  }

  private hugeString(i: number, bytes: number): Buffer {
    return this.request(i, (w) =>
      this.session(w, (s) => {
        s.uint32(10).string('h'.repeat(bytes)); // a session id far past any limit
        s.uint32(16).int32(1);
      }),
    );
  }

  private manyMetadata(i: number, entries: number): Buffer {
    return this.request(i, (w) =>
      this.session(w, (s) => {
        s.uint32(10).string(`metadata-${i}`).uint32(16).int32(1);
        for (let k = 0; k < entries; k++) {
          s.uint32((12 << 3) | 2).bytes(Buffer.concat([tagged(1, Buffer.from(`k${k}`)), tagged(2, Buffer.from('v'))]));
        }
      }),
    );
  }
}

/** A length-delimited field. */
function tagged(field: number, bytes: Uint8Array): Buffer {
  return Buffer.from(new BinaryWriter().uint32((field << 3) | 2).bytes(bytes).finish());
}
