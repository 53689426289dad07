import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { AuthorRole, MessageType, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { AnyValue, KeyValue } from '../../generated/opentelemetry/proto/common/v1/common';
import { type LogRecord, ScopeLogs } from '../../generated/opentelemetry/proto/logs/v1/logs';
import { Resource } from '../../generated/opentelemetry/proto/resource/v1/resource';

export const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

const text = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } as AnyValue, keyStrindex: 0 });

/**
 * One bench session as OTLP log records in the `catsyphon.*` dialect: one
 * record per message (content as body, role, type, thread and seq as
 * attributes, the message's metadata as further attributes), so an OTLP
 * request carries the same messages and content as the native batch.
 */
export class OtlpSessionTemplate {
  readonly records: LogRecord[] = [];
  /** Shared by every record: set to the session id just before encoding. */
  private readonly sessionId: AnyValue = { stringValue: '' } as AnyValue;

  constructor(session: Session) {
    for (const thread of session.threads) {
      for (const m of thread.messages) {
        this.records.push({
          timeUnixNano: m.emittedAtNs,
          observedTimeUnixNano: m.observedAtNs,
          severityNumber: 9,
          severityText: '',
          body: { stringValue: m.content } as AnyValue,
          attributes: [
            { key: 'catsyphon.session.id', value: this.sessionId, keyStrindex: 0 },
            text('catsyphon.thread.id', thread.id),
            text('catsyphon.author.role', AuthorRole[m.authorRole]),
            text('catsyphon.message.type', MessageType[m.messageType]),
            { key: 'catsyphon.message.seq', value: { intValue: BigInt(m.seq) } as AnyValue, keyStrindex: 0 },
            ...Object.entries(m.metadata).map(([k, v]) => text(k, v)),
          ],
          droppedAttributesCount: 0,
          flags: 0,
          traceId: Buffer.alloc(0),
          spanId: Buffer.alloc(0),
          eventName: '',
        });
      }
    }
  }

  /** This session's ScopeLogs, encoded, under the given session id. */
  encode(id: string): Uint8Array {
    (this.sessionId as { stringValue: string }).stringValue = id;
    return ScopeLogs.encode({ scope: { name: 'bench', version: '1', attributes: [], droppedAttributesCount: 0 }, logRecords: this.records, schemaUrl: '' }).finish();
  }
}

const RESOURCE = Resource.encode({
  attributes: [text('service.name', 'catsyphon-bench')],
  droppedAttributesCount: 0,
  entityRefs: [],
}).finish();

/** An ExportLogsServiceRequest of one resource with one ScopeLogs per session. */
export function encodeLogsRequest(sessions: ReadonlyArray<{ template: OtlpSessionTemplate; id: string }>): Buffer {
  const resourceLogs = new BinaryWriter().uint32((1 << 3) | 2).bytes(RESOURCE);
  for (const s of sessions) resourceLogs.uint32((2 << 3) | 2).bytes(s.template.encode(s.id));
  return Buffer.from(new BinaryWriter().uint32((1 << 3) | 2).bytes(resourceLogs.finish()).finish());
}
