import { ExportSessionsRequest, Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { encodeCopyBatch } from '../../bench/baseline/copy-binary';
import { sessionRows } from '../../bench/baseline/message-rows';
import { encodeExportRequest, SessionTemplate } from '../../bench/wire';
import { DEFAULT_WORKLOAD, generateTemplates, messagesPerSession } from '../../bench/workload';

const workload = { ...DEFAULT_WORKLOAD, templateSessions: 3 };

describe('bench workload and wire encoding', () => {
  const templates = generateTemplates(workload);

  test('generates the configured shape deterministically', () => {
    expect(templates).toHaveLength(3);
    for (const s of templates) {
      expect(s.threads).toHaveLength(workload.threadsPerSession);
      expect(s.threads.flatMap((t) => t.messages)).toHaveLength(messagesPerSession(workload));
      for (const m of s.threads.flatMap((t) => t.messages)) {
        const size = Buffer.byteLength(m.content);
        expect(size).toBeGreaterThanOrEqual(workload.contentMinBytes - 3);
        expect(size).toBeLessThanOrEqual(workload.contentMaxBytes);
        expect(Object.keys(m.metadata)).toHaveLength(workload.metadataEntries);
      }
    }
    expect(Session.toJSON(generateTemplates(workload)[1])).toEqual(Session.toJSON(templates[1]));
  });

  test('a hand-built request decodes to the sessions under their new ids', () => {
    const bytes = encodeExportRequest('batch-1', [
      { template: new SessionTemplate(templates[0]), id: 'first' },
      { template: new SessionTemplate(templates[2]), id: 'ü-second' },
    ]);
    const decoded = ExportSessionsRequest.decode(bytes);
    expect(decoded.batchId).toBe('batch-1');
    expect(decoded.sessions.map((s) => s.id)).toEqual(['first', 'ü-second']);
    expect(Session.toJSON({ ...decoded.sessions[1], id: '' })).toEqual(Session.toJSON(templates[2]));
  });

  test('the binary COPY payload has the signature, one tuple per message and the trailer', () => {
    const rows = sessionRows(templates[0]);
    const payload = encodeCopyBatch([{ rows, threadBase: 7n, sessionId: Buffer.alloc(16, 1) }]);
    expect(payload.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(payload.readInt16BE(19)).toBe(18);
    expect(payload.readInt32BE(21)).toBe(8);
    expect(payload.readBigInt64BE(25)).toBe(7n);
    expect(payload.readInt16BE(payload.length - 2)).toBe(-1);
    expect(rows).toHaveLength(messagesPerSession(workload));
  });
});
