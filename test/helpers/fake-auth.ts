import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Kysely } from 'kysely';
import type { DB } from '../../src/db/schema';
import { unauthenticated } from '../../src/errors/domain-error';
import type { Authenticator, Caller } from '../../src/identity/caller';

/**
 * A small fake for tests that are not about API keys: `Bearer <token>` maps
 * to a Caller whose workspace and collector rows really exist (seedCaller).
 */
export class FakeAuthenticator implements Authenticator {
  private readonly callers = new Map<string, Caller>();

  async authenticate(metadata: grpc.Metadata): Promise<Caller> {
    const header = String(metadata.get('authorization')[0] ?? '');
    const caller = this.callers.get(header.replace(/^Bearer\s+/i, ''));
    if (!caller) throw unauthenticated();
    return caller;
  }

  /** Inserts a workspace and a collector and returns a token for them. */
  async seedCaller(
    db: Kysely<DB>,
    name = 'ws',
    rateLimits: Caller['rateLimits'] = { requestsPerMin: undefined, messagesPerMin: undefined },
  ): Promise<{ token: string; caller: Caller }> {
    const slug = `${name}-${randomUUID().slice(0, 8)}`;
    const ws = await db.insertInto('workspaces').values({ name, slug }).returning('id').executeTakeFirstOrThrow();
    const collector = await db
      .insertInto('collectors')
      .values({ workspace_id: ws.id, name: `${name}-collector`, type: 'test', key_prefix: slug, key_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const caller: Caller = {
      collectorId: collector.id,
      collectorName: `${name}-collector`,
      workspaceId: ws.id,
      rateLimits,
    };
    const token = `test_${slug}`;
    this.callers.set(token, caller);
    return { token, caller };
  }
}
