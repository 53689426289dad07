import type { Message, Session, Thread } from '../generated/catsyphon/telemetry/v1/sessions';

/**
 * The shape of the generated load. Defaults follow issue 8: 10 sessions per
 * batch, 3 threads of about 33 messages each, content 50 B to 4 KB (median
 * about 600 B), raw_data about 1 KB, a few metadata entries, tool calls on
 * about 30% of messages: about 1,000 messages and 1.7 MB per batch.
 */
export interface WorkloadOptions {
  readonly sessionsPerBatch: number;
  readonly threadsPerSession: number;
  readonly messagesPerThread: number;
  readonly contentMinBytes: number;
  readonly contentMedianBytes: number;
  readonly contentMaxBytes: number;
  readonly rawDataBytes: number;
  readonly metadataEntries: number;
  /** Share of messages that carry a tool call (0..1). */
  readonly toolCallRatio: number;
  /** Share of messages that carry one files_touched entry (0..1). */
  readonly filesTouchedRatio: number;
  /** Distinct template sessions generated up front and rotated through. */
  readonly templateSessions: number;
  readonly seed: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = Object.freeze({
  sessionsPerBatch: 10,
  threadsPerSession: 3,
  messagesPerThread: 33,
  contentMinBytes: 50,
  contentMedianBytes: 600,
  contentMaxBytes: 4096,
  rawDataBytes: 900,
  metadataEntries: 3,
  toolCallRatio: 0.3,
  filesTouchedRatio: 0.05,
  templateSessions: 40,
  seed: 1,
});

/** mulberry32: small, fast and deterministic, so every process builds the same sessions. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the function returns a promise that resolves when the database answers query index table row column ' +
  'const let await async import export interface type string number boolean undefined null error retry ' +
  'session thread message batch collector workspace assistant tool call result file path change line ' +
  'I will now read the file and then update the implementation so that the tests pass again with ' +
  'refactor extract method rename variable add test fix bug performance latency throughput memory ' +
  'café naïve über 日本語 テキスト 🚀 ✓ — “quoted” ünïcödé'
).split(' ');

const TOOLS = ['Read', 'Edit', 'Bash', 'Grep', 'Glob', 'Write', 'WebFetch', 'TodoWrite'];

/** Text of exactly `bytes` UTF-8 bytes (or one byte less around a multi-byte character). */
function text(rand: () => number, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const w = WORDS[Math.floor(rand() * WORDS.length)];
    parts.push(w);
    size += Buffer.byteLength(w) + 1;
  }
  let s = parts.join(rand() < 0.1 ? '\n' : ' ');
  // Drop whole code points (never half a surrogate pair) until it fits.
  while (Buffer.byteLength(s) > bytes) {
    const last = s.charCodeAt(s.length - 1);
    s = s.slice(0, last >= 0xdc00 && last <= 0xdfff ? -2 : -1);
  }
  return s;
}

/** Log-normal around the median, clamped to [min, max]. */
function contentSize(rand: () => number, o: WorkloadOptions): number {
  const u1 = Math.max(rand(), 1e-12);
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rand());
  const size = Math.round(o.contentMedianBytes * Math.exp(0.6 * normal));
  return Math.min(o.contentMaxBytes, Math.max(o.contentMinBytes, size));
}

const BASE_NS = 1_763_769_600_000_000_000n; // 2025-11-22T00:00:00Z

function message(rand: () => number, o: WorkloadOptions, seq: number, startNs: bigint): Message {
  const toolCall = rand() < o.toolCallRatio;
  const toolResult = !toolCall && rand() < o.toolCallRatio * 0.6;
  const role = toolCall ? 3 : toolResult ? 5 : seq % 2 === 1 ? 1 : 3;
  const type = toolCall ? 3 : toolResult ? 4 : role === 1 ? 1 : 2;
  const emitted = startNs + BigInt(seq) * 1_500_000_000n;
  const content = text(rand, contentSize(rand, o));
  const metadata: Record<string, string> = {};
  const metaKeys = ['uuid', 'cwd', 'version', 'gitBranch', 'userType', 'requestId'];
  for (let i = 0; i < o.metadataEntries; i++) {
    metadata[metaKeys[i % metaKeys.length] + (i >= metaKeys.length ? i : '')] = text(rand, 8 + Math.floor(rand() * 28));
  }
  const rawHead = `{"type":"${role === 1 ? 'user' : 'assistant'}","seq":${seq},"message":"`;
  const raw = rawHead + text(rand, Math.max(0, Math.round(o.rawDataBytes * (0.8 + rand() * 0.4)) - rawHead.length - 2)) + '"}';
  const name = TOOLS[Math.floor(rand() * TOOLS.length)];
  return {
    seq,
    authorRole: role,
    authorName: role === 3 ? 'claude' : undefined,
    messageType: type,
    content,
    emittedAtNs: emitted,
    observedAtNs: emitted + 250_000_000n,
    tokens:
      role === 3
        ? {
            inputTokens: Math.floor(rand() * 20_000),
            outputTokens: Math.floor(rand() * 2_000),
            cacheCreationTokens: Math.floor(rand() * 5_000),
            cacheReadTokens: Math.floor(rand() * 50_000),
          }
        : undefined,
    toolCalls: toolCall
      ? [{ id: `toolu_${seq}_${Math.floor(rand() * 1e9)}`, name, input: JSON.stringify({ file_path: `/src/app/${text(rand, 12).replace(/\W/g, '')}.ts`, pattern: text(rand, 40) }) }]
      : [],
    toolResult: toolResult
      ? { toolCallId: `toolu_${seq - 1}`, content: text(rand, 60), success: rand() > 0.1, durationMs: BigInt(Math.floor(rand() * 5000)) }
      : undefined,
    filesTouched:
      rand() < o.filesTouchedRatio
        ? [{ path: `/src/app/module${Math.floor(rand() * 50)}.ts`, changeType: 1 + Math.floor(rand() * 4), linesAdded: Math.floor(rand() * 40), linesDeleted: Math.floor(rand() * 20), timestampNs: emitted }]
        : [],
    rawData: Buffer.from(raw),
    metadata,
  };
}

/** One session with an empty id: the load driver gives every copy a fresh id. */
export function generateSession(rand: () => number, o: WorkloadOptions, index: number): Session {
  const startNs = BASE_NS + BigInt(index) * 3_600_000_000_000n;
  const threads: Thread[] = [];
  for (let t = 0; t < o.threadsPerSession; t++) {
    const threadStart = startNs + BigInt(t) * 1_000_000_000n;
    const messages: Message[] = [];
    for (let seq = 1; seq <= o.messagesPerThread; seq++) messages.push(message(rand, o, seq, threadStart));
    const last = messages.length ? messages[messages.length - 1].emittedAtNs : threadStart;
    threads.push({
      id: t === 0 ? 'main' : `agent-${t}`,
      parentThreadId: t === 0 ? undefined : 'main',
      type: t === 0 ? 1 : 2,
      spawnedByMessageId: t === 0 ? undefined : `toolu_${t}`,
      messages,
      startedAtNs: threadStart,
      endedAtNs: t === 0 ? undefined : last,
      lastActivityAtNs: last,
      metadata: { agentType: t === 0 ? 'main' : 'general-purpose' },
    });
  }
  const project = index % 5;
  return {
    id: '',
    assistant: 1,
    backingModel: { provider: 'anthropic', modelId: 'claude-sonnet-4-5', displayName: 'Claude Sonnet 4.5' },
    project: { path: `/home/dev/project-${project}`, name: `project-${project}`, metadata: { language: 'typescript' } },
    developer: { username: `dev${index % 3}`, email: `dev${index % 3}@example.com`, metadata: { team: 'platform' } },
    startedAtNs: startNs,
    lastActivityAtNs: threads.reduce((m, t) => (t.lastActivityAtNs > m ? t.lastActivityAtNs : m), startNs),
    status: 2,
    threads,
    plans: [],
    gitContext: { branch: 'main', commitSha: 'a'.repeat(40), isClean: index % 2 === 0, remoteUrl: 'git@example.com:org/repo.git' },
    metadata: { cliVersion: '2.0.14', entrypoint: 'cli' },
  };
}

/** The template sessions every bench process derives from the same seed. */
export function generateTemplates(o: WorkloadOptions): Session[] {
  const rand = prng(o.seed);
  return Array.from({ length: o.templateSessions }, (_, i) => generateSession(rand, o, i));
}

export const messagesPerSession = (o: WorkloadOptions): number => o.threadsPerSession * o.messagesPerThread;
export const messagesPerBatch = (o: WorkloadOptions): number => o.sessionsPerBatch * messagesPerSession(o);
