import type {
  Assistant,
  BackingModel,
  Developer,
  Message,
  ThreadType,
} from '../../../generated/catsyphon/telemetry/v1/sessions';
import type { InstrumentationScope } from '../../../generated/opentelemetry/proto/common/v1/common';
import type { LogRecord } from '../../../generated/opentelemetry/proto/logs/v1/logs';
import type { Attributes } from '../log-record.attributes';

/** One log record with what surrounds it in the request. */
export interface RecordInput {
  readonly record: LogRecord;
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly scope: InstrumentationScope | undefined;
  /** The record's event name as sent: LogRecord.event_name, else the `event.name` attribute, else a string body. */
  readonly eventName: string | undefined;
  /** Its field path, e.g. `resource_logs[0].scope_logs[1].log_records[7]`. */
  readonly path: string;
}

/**
 * A record mapped onto the session model: the message it becomes, and what it
 * tells about its session. `seq` is set when the dialect carries an order of
 * its own (`event.sequence`, `catsyphon.message.seq`); otherwise the session
 * assembler derives it from `orderNs` and the record's digest.
 */
export interface MappedRecord {
  readonly dialect: DialectName;
  readonly assistant: Assistant;
  readonly sessionId: string;
  readonly threadId: string;
  readonly threadType: ThreadType;
  readonly seq: number | undefined;
  /** What explicit `seq` came from, for error messages (e.g. `event.sequence 41`). */
  readonly seqSource?: string;
  /** The record's time (ns): emitted_at_ns, and the order of derived seqs. */
  readonly orderNs: bigint;
  readonly message: Omit<Message, 'seq'>;
  readonly backingModel?: BackingModel;
  readonly developer?: Developer;
}

export type DialectName = 'catsyphon' | 'claude_code' | 'codex';

/** A record that cannot become a message, with a reason naming what was missing. */
export interface RejectedRecord {
  readonly path: string;
  readonly reason: string;
}

export type MapOutcome = { readonly mapped: MappedRecord } | { readonly rejected: RejectedRecord };
