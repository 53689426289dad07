import { createHash } from 'node:crypto';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { DomainError } from '../../src/errors/domain-error';
import { enforceStrictUtf8 } from '../../src/grpc/undecodable';
import { lazyExportRequest, peekOf } from '../../src/ingest/export-request.peek';
import { ExportSessionsRequest } from '../../generated/catsyphon/telemetry/v1/sessions';
import { Rng, SessionGenerator, simpleSession } from '../helpers/session-gen';

const encode = (r: ExportSessionsRequest) => Buffer.from(ExportSessionsRequest.encode(r).finish());

describe('ExportSessions lazy decoding', () => {
  test('reads collector and batch_id, counts sessions and messages, digests the bytes, and decodes sessions on access', () => {
    const gen = new SessionGenerator(new Rng(3));
    const sessions = [gen.session(3), gen.session(1), simpleSession('s3', 2, 4)];
    const request: ExportSessionsRequest = {
      batchId: 'b-1',
      collector: { type: 'aiobscura', version: '1.2', hostname: 'h', collectorId: '', workspaceId: '', metadata: { a: '1' } },
      sessions,
    };
    const bytes = encode(request);
    const lazy = lazyExportRequest(bytes);
    const peek = peekOf(lazy);
    expect(peek).toEqual({
      bytes: bytes.length,
      digest: createHash('sha256').update(bytes).digest(),
      sessionCount: 3,
      messageCount: sessions.reduce((n, s) => n + s.threads.reduce((m, t) => m + t.messages.length, 0), 0),
    });
    expect(lazy.batchId).toBe('b-1');
    expect(lazy.collector).toEqual(request.collector);
    const decoded = ExportSessionsRequest.decode(bytes);
    expect(lazy.sessions).toEqual(decoded.sessions);
    expect(lazy.sessions).toBe(lazy.sessions); // decoded once
  });

  test('the last batch_id and collector win, as in the generated decoder', () => {
    const w = new BinaryWriter();
    w.uint32(18).string('first');
    w.uint32(18).string('second');
    const bytes = Buffer.from(w.finish());
    const lazy = lazyExportRequest(bytes);
    expect(lazy.batchId).toBe(ExportSessionsRequest.decode(bytes).batchId);
    expect(lazy.batchId).toBe('second');
    expect(lazy.sessions).toEqual([]);
    expect(peekOf(lazy)?.sessionCount).toBe(0);
  });

  test('broken framing fails at once; a bad string inside a session fails on access with INVALID_ARGUMENT', () => {
    const truncated = encode({ batchId: 'b', collector: undefined, sessions: [simpleSession('x')] }).subarray(0, 20);
    expect(() => lazyExportRequest(truncated)).toThrow();

    // A session whose id (field 1) is invalid UTF-8 (strict, as the server decodes): framing is fine, decoding is not.
    enforceStrictUtf8();
    const session = new BinaryWriter();
    session.uint32(10).bytes(Uint8Array.from([0xc3, 0x28]));
    const w = new BinaryWriter();
    w.uint32(18).string('b');
    w.uint32(26).bytes(session.finish());
    const lazy = lazyExportRequest(Buffer.from(w.finish()));
    expect(peekOf(lazy)).toMatchObject({ sessionCount: 1, messageCount: 0 });
    let thrown: unknown;
    try {
      void lazy.sessions;
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect(thrown).toMatchObject({ kind: 'invalid_argument', message: expect.stringContaining('not a valid protobuf message') });
  });
});
