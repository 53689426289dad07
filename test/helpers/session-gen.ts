import type {
  Message,
  Plan,
  Session,
  Thread,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** A small seeded PRNG (mulberry32) so a failing case can be replayed. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const PIECES = ['a', 'Z', '0', ' ', 'é', 'ß', '😀', '🧑‍💻', 'ק', '中', '"', '\\', '\n', '\t', '\u2028', '{', '}', '<', '%', '\u00a0'];
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class SessionGenerator {
  private counter = 0;
  constructor(readonly rng: Rng) {}

  /** Text without NUL (ids, names, paths: PostgreSQL `text`). */
  text(max = 12): string {
    let s = '';
    const n = this.rng.int(0, max);
    for (let i = 0; i < n; i++) s += this.rng.pick(PIECES);
    return s;
  }

  /** Content: may hold NUL, may be empty, sometimes large. */
  content(): string {
    const kind = this.rng.int(0, 9);
    if (kind === 0) return '';
    if (kind === 1) return `nul\u0000inside\u0000${this.text()}`;
    if (kind === 2) return '\u0000';
    if (kind === 3) return this.text(4).repeat(this.rng.int(1000, 20000)) + 'end';
    return this.text(60);
  }

  id(prefix: string): string {
    return `${prefix}-${++this.counter}-${this.text(3)}`;
  }

  ns(): bigint {
    const kind = this.rng.int(0, 5);
    if (kind === 0) return INT64_MAX;
    if (kind === 1) return INT64_MIN;
    if (kind === 2) return 0n;
    return 1_700_000_000_000_000_000n + BigInt(this.rng.int(0, 1e9)) * 1000n + BigInt(this.rng.int(0, 999));
  }

  int32(): number {
    return this.rng.pick([0, 1, -1, 2147483647, -2147483648, this.rng.int(0, 100000)]);
  }

  /** An enum value: each known one, or a number from a newer client. */
  enumValue(count: number, allowZero = true): number {
    if (this.rng.chance(0.1)) return this.rng.pick([99, 1234, 2147483647]);
    return this.rng.int(allowZero ? 0 : 1, count - 1);
  }

  metadata(): { [key: string]: string } {
    const out: { [key: string]: string } = {};
    const n = this.rng.int(0, 4);
    for (let i = 0; i < n; i++) out[`${this.text(5)}k${i}${this.rng.chance(0.3) ? '\u0000' : ''}`] = Array.from(this.content()).slice(0, 200).join('');
    return out;
  }

  optText(): string | undefined {
    return this.rng.chance(0.5) ? undefined : this.text();
  }

  message(seq: number): Message {
    const r = this.rng;
    return {
      seq,
      authorRole: this.enumValue(7, false),
      authorName: this.optText(),
      messageType: this.enumValue(9, false),
      content: this.content(),
      emittedAtNs: this.ns(),
      observedAtNs: this.ns(),
      tokens: r.chance(0.5)
        ? { inputTokens: this.int32(), outputTokens: this.int32(), cacheCreationTokens: this.int32(), cacheReadTokens: this.int32() }
        : undefined,
      toolCalls: Array.from({ length: r.int(0, 3) }, () => ({ id: this.text(), name: this.text(), input: this.content() })),
      toolResult: r.chance(0.4)
        ? {
            toolCallId: this.text(),
            content: this.content(),
            success: r.chance(0.5),
            durationMs: r.chance(0.5) ? r.pick([0n, INT64_MAX, INT64_MIN, 1234n]) : undefined,
          }
        : undefined,
      filesTouched: Array.from({ length: r.int(0, 3) }, () => ({
        path: this.text(20),
        changeType: this.enumValue(5),
        linesAdded: this.int32(),
        linesDeleted: this.int32(),
        timestampNs: this.ns(),
      })),
      rawData: Buffer.from(Array.from({ length: r.pick([0, 1, 17, 1024]) }, () => r.int(0, 255))),
      metadata: this.metadata(),
    };
  }

  thread(id: string, parent: string | undefined, messages: number): Thread {
    const r = this.rng;
    let seq = r.int(0, 4);
    return {
      id,
      parentThreadId: parent,
      type: this.enumValue(4),
      spawnedByMessageId: this.optText(),
      messages: Array.from({ length: messages }, () => this.message((seq += r.int(1, 3)))),
      startedAtNs: this.ns(),
      endedAtNs: r.chance(0.5) ? this.ns() : undefined,
      lastActivityAtNs: this.ns(),
      metadata: this.metadata(),
    };
  }

  plan(): Plan {
    const r = this.rng;
    return {
      id: this.id('plan'),
      path: this.text(20),
      title: this.optText(),
      status: this.enumValue(4),
      content: r.chance(0.7) ? this.content() : undefined,
      createdAtNs: this.ns(),
      updatedAtNs: r.chance(0.5) ? this.ns() : undefined,
    };
  }

  /** A random session covering every field; `size` scales threads and messages. */
  session(size = 1): Session {
    const r = this.rng;
    const threadIds: string[] = [];
    const threads: Thread[] = [];
    const nThreads = r.int(0, 3 * size);
    for (let i = 0; i < nThreads; i++) {
      const id = this.id('thread');
      const parent = threadIds.length > 0 && r.chance(0.5) ? r.pick(threadIds) : undefined;
      threads.push(this.thread(id, parent, r.int(0, 6 * size)));
      threadIds.push(id);
    }
    return {
      id: this.id('session'),
      assistant: this.enumValue(5),
      backingModel: r.chance(0.8) ? { provider: this.text(), modelId: this.text(), displayName: this.optText() } : undefined,
      project: r.chance(0.8) ? { path: this.text(30), name: this.text(), metadata: this.metadata() } : undefined,
      developer: r.chance(0.8) ? { username: this.text(), email: this.optText(), metadata: this.metadata() } : undefined,
      startedAtNs: this.ns(),
      lastActivityAtNs: this.ns(),
      status: this.enumValue(4),
      threads,
      plans: Array.from({ length: r.int(0, 3) }, () => this.plan()),
      gitContext: r.chance(0.7)
        ? {
            branch: this.optText(),
            commitSha: this.optText(),
            isClean: r.chance(0.5) ? undefined : r.chance(0.5),
            remoteUrl: this.optText(),
          }
        : undefined,
      metadata: this.metadata(),
    };
  }
}

/** A plain, valid session with `threads` threads of `messages` messages each. */
export function simpleSession(id: string, threads = 1, messages = 3, contentSize = 20): Session {
  return {
    id,
    assistant: 1,
    startedAtNs: 1_700_000_000_000_000_000n,
    lastActivityAtNs: 1_700_000_000_000_000_000n + BigInt(messages),
    status: 1,
    threads: Array.from({ length: threads }, (_, t) => ({
      id: `t${t}`,
      type: 1,
      messages: Array.from({ length: messages }, (_, m) => ({
        seq: m + 1,
        authorRole: 1,
        messageType: 1,
        content: `message ${m} of ${id} `.padEnd(contentSize, 'x'),
        emittedAtNs: 1_700_000_000_000_000_000n + BigInt(m),
        observedAtNs: 1_700_000_000_000_000_000n + BigInt(m),
        toolCalls: [],
        filesTouched: [],
        rawData: Buffer.alloc(0),
        metadata: {},
      })),
      startedAtNs: 1_700_000_000_000_000_000n,
      lastActivityAtNs: 1_700_000_000_000_000_000n + BigInt(messages),
      metadata: {},
    })),
    plans: [],
    metadata: {},
  };
}
