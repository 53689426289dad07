import { createHash } from 'node:crypto';
import type { IngestLimits } from '../config/config';
import {
  ActivityStatus,
  type Message,
  type Session,
  type Thread,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { LogRecord } from '../../generated/opentelemetry/proto/logs/v1/logs';
import type { MappedRecord, RecordInput, RejectedRecord } from './dialects/dialect';
import { plainValue } from './log-record.attributes';

const MAX_SEQ = 2147483647;
const MS_PER_DAY = 86_400_000;
/** Derived seqs: 1 + ms of the UTC day × SLOTS + a digest slot (fits int32: 1 + 86,399,999 × 24 + 23). */
const SLOTS = 24;

/** One session built from an export, and which record each of its messages came from. */
export interface AssembledSession {
  readonly session: Session;
  /** Field path of the record behind threads[i].messages[k]. */
  readonly recordPaths: string[][];
}

interface DraftMessage {
  readonly seq: number;
  /** The record's digest, computed when first needed (records with an explicit seq rarely need it). */
  readonly digest: () => string;
  readonly path: string;
  readonly mapped: MappedRecord;
}

interface DraftThread {
  readonly id: string;
  readonly mapped: MappedRecord;
  readonly bySeq: Map<number, DraftMessage>;
}

interface DraftSession {
  readonly first: MappedRecord;
  readonly resource: Map<string, string>;
  readonly threads: Map<string, DraftThread>;
}

/**
 * A stable identity of a record: SHA-256 of its protobuf encoding, with an
 * empty body dropped (OTel JS's JSON exporter sends `"body": {}` where its
 * protobuf exporter sends nothing), so a record resent over another
 * transport has the same identity.
 */
export function recordDigest(input: RecordInput): string {
  const { record } = input;
  const canonical = record.body && plainValue(record.body) === null ? { ...record, body: undefined } : record;
  return createHash('sha256').update(LogRecord.encode(canonical).finish()).digest('hex');
}

const utcDay = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);

/**
 * Where a record without an order of its own goes: thread `<thread>@<UTC day>`
 * and a seq from its millisecond of that day and its digest, so a resent
 * record lands on the same (thread, seq) and the message dedup drops it.
 */
function derivedPlace(mapped: MappedRecord, digest: string): { threadId: string; seq: number } {
  const ms = mapped.orderNs >= 0n ? mapped.orderNs / 1_000_000n : 0n;
  const msOfDay = Number(ms % BigInt(MS_PER_DAY));
  const slot = parseInt(digest.slice(0, 8), 16) % SLOTS;
  return { threadId: `${mapped.threadId}@${utcDay(mapped.orderNs >= 0n ? mapped.orderNs : 0n)}`, seq: 1 + msOfDay * SLOTS + slot };
}

/**
 * Groups mapped records into sessions (one per assistant and session id),
 * threads and messages. A record resent within one export is kept once; two
 * different records claiming one explicit seq: the later is rejected.
 */
export function assembleSessions(
  records: ReadonlyArray<{ input: RecordInput; mapped: MappedRecord }>,
  limits: IngestLimits,
): { sessions: AssembledSession[]; rejected: RejectedRecord[] } {
  const drafts = new Map<string, DraftSession>();
  const rejected: RejectedRecord[] = [];
  for (const { input, mapped } of records) {
    const key = `${mapped.assistant}\u0000${mapped.sessionId}`;
    let draft = drafts.get(key);
    if (!draft) {
      draft = { first: mapped, resource: new Map(), threads: new Map() };
      drafts.set(key, draft);
    }
    for (const [k, v] of input.resource.entries()) draft.resource.set(k, v);
    let known: string | undefined;
    const digest = () => (known ??= recordDigest(input));
    const place = mapped.seq === undefined ? derivedPlace(mapped, digest()) : { threadId: mapped.threadId, seq: mapped.seq };
    let thread = draft.threads.get(place.threadId);
    if (!thread) {
      thread = { id: place.threadId, mapped, bySeq: new Map() };
      draft.threads.set(place.threadId, thread);
    }
    let seq = place.seq;
    let taken = thread.bySeq.get(seq);
    if (mapped.seq === undefined) {
      // Another record on the same millisecond and slot: the next free seq.
      while (taken && taken.digest() !== digest() && seq < MAX_SEQ) taken = thread.bySeq.get(++seq);
    }
    if (taken && taken.digest() === digest()) continue; // the same record twice in one export
    if (taken) {
      rejected.push({
        path: input.path,
        reason: `${mapped.seqSource ?? `seq ${seq}`} of session ${JSON.stringify(mapped.sessionId)} was already used by ${taken.path} for another record`,
      });
      continue;
    }
    thread.bySeq.set(seq, { seq, digest, path: input.path, mapped });
  }
  return { sessions: [...drafts.values()].map((d) => buildSession(d, limits)), rejected };
}

function buildSession(draft: DraftSession, limits: IngestLimits): AssembledSession {
  const all: DraftMessage[] = [];
  const threads: Array<{ thread: Thread; paths: string[] }> = [];
  for (const t of draft.threads.values()) {
    const messages = [...t.bySeq.values()].sort((a, b) => a.seq - b.seq);
    all.push(...messages);
    const times = messages.map((m) => m.mapped.orderNs);
    threads.push({
      thread: {
        id: t.id,
        parentThreadId: undefined,
        type: t.mapped.threadType,
        spawnedByMessageId: undefined,
        messages: messages.map((m): Message => ({ seq: m.seq, ...m.mapped.message })),
        startedAtNs: min(times),
        endedAtNs: undefined,
        lastActivityAtNs: max(times),
        metadata: {},
      },
      paths: messages.map((m) => m.path),
    });
  }
  threads.sort((a, b) => (a.thread.startedAtNs < b.thread.startedAtNs ? -1 : a.thread.startedAtNs > b.thread.startedAtNs ? 1 : 0));
  // The latest record that names a model or a developer decides.
  const byTime = [...all].sort((a, b) => (a.mapped.orderNs < b.mapped.orderNs ? -1 : a.mapped.orderNs > b.mapped.orderNs ? 1 : 0));
  const backingModel = byTime.map((m) => m.mapped.backingModel).filter((m) => m !== undefined).pop();
  const developer = byTime.map((m) => m.mapped.developer).filter((d) => d !== undefined).pop();
  const metadata: Record<string, string> = { 'otlp.dialect': draft.first.dialect };
  for (const [k, v] of draft.resource) {
    if (Object.keys(metadata).length >= limits.maxMetadataEntries) break;
    if (Buffer.byteLength(k) <= limits.maxStringBytes && Buffer.byteLength(v) <= limits.maxMetadataValueBytes) metadata[k] = v;
  }
  const times = all.map((m) => m.mapped.orderNs);
  return {
    session: {
      id: draft.first.sessionId,
      assistant: draft.first.assistant,
      backingModel,
      project: undefined,
      developer,
      startedAtNs: min(times),
      lastActivityAtNs: max(times),
      status: ActivityStatus.ACTIVITY_STATUS_ACTIVE,
      threads: threads.map((t) => t.thread),
      plans: [],
      gitContext: undefined,
      metadata,
    },
    recordPaths: threads.map((t) => t.paths),
  };
}

const min = (xs: bigint[]) => xs.reduce((a, b) => (b < a ? b : a), xs[0] ?? 0n);
const max = (xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a), xs[0] ?? 0n);
