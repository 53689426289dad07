/**
 * The ingestion API for code outside the gRPC layer (the benchmark, tools).
 * `ingestBatch` validates and stores sessions without gRPC; the handlers add
 * batch_id idempotency and the response encoding on top of it.
 */
export { ingestBatch, type IngestOptions, type IngestOutcome, type IngestOwner } from './ingest.service';
export { DimensionCache } from './dimension.cache';
export { validateSession, type ValidationIssue } from './session.validator';
export { BatchTally } from './batch-response';
export { encodeResponse } from './ingest.context';
export { hashSessions, IdempotencyService, SessionHasher } from './idempotency.service';
export { BATCH_ID_HEADER } from './export-sessions-stream.handler';
export { createIdempotencyService, ingestionService, SESSION_INGESTION } from './ingestion.service';
export { readSession } from '../query/session.reader';
