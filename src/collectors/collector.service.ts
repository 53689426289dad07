import type { Kysely } from 'kysely';
import type {
  CollectorView,
  CreateCollectorInput,
  IssuedKey,
  UpdateCollectorInput,
  WorkspaceView,
} from './collector.views';
import { generateApiKey } from '../auth/api-key';
import { findCredentialsByPrefix } from '../auth/credentials.repository';
import type { KeyHasher } from '../auth/key-hasher';
import type { DB } from '../db/schema';
import { DomainError, invalidArgument, notFound } from '../errors/domain-error';
import type { Clock } from '../util/clock';
import * as collectors from './collector.repository';
import { toCollectorView, toWorkspaceView } from './collector.mapper';
import * as workspaces from './workspace.repository';

export interface CollectorServiceDeps {
  readonly db: Kysely<DB>;
  readonly hasher: KeyHasher;
  readonly clock: Clock;
  /**
   * Told after a collector's key or its state changed (rotate, revoke,
   * update), so a server running this clears its auth cache at once.
   */
  readonly onCollectorChanged?: (collectorId: string) => void;
  /** The retention of new workspaces (RETENTION_DEFAULT); null or absent keeps sessions forever. */
  readonly defaultRetentionMs?: number | null;
}

export const DEFAULT_COLLECTOR_TYPE = 'aiobscura';
const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_NAME_LENGTH = 200;
/** Key prefixes of random keys practically never collide; retry a few times if they do. */
const KEY_ATTEMPTS = 3;

/** Workspace and collector administration: what the CLI's commands do. */
export class CollectorService {
  constructor(private readonly deps: CollectorServiceDeps) {}

  async createWorkspace(input: { name: string; slug?: string }): Promise<WorkspaceView> {
    const name = validName(input.name, 'workspace name');
    const slug = input.slug === undefined || input.slug === '' ? slugify(name) : input.slug;
    if (slug === '') throw invalidArgument(`cannot derive a slug from the name ${JSON.stringify(name)}; give one with --slug`);
    if (!SLUG_PATTERN.test(slug)) {
      throw invalidArgument(
        `invalid slug ${JSON.stringify(slug)}: use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit`,
      );
    }
    const row = await workspaces.insertWorkspace(this.deps.db, {
      name,
      slug,
      retention_ms: this.deps.defaultRetentionMs ?? null,
    });
    if (!row) throw new DomainError('already_exists', `a workspace with slug "${slug}" already exists`);
    return toWorkspaceView({ ...row, collector_count: 0 });
  }

  async listWorkspaces(): Promise<WorkspaceView[]> {
    return (await workspaces.listWorkspaces(this.deps.db)).map(toWorkspaceView);
  }

  async createCollector(input: CreateCollectorInput): Promise<IssuedKey> {
    const name = validName(input.name, 'collector name');
    const type = input.type === undefined || input.type === '' ? DEFAULT_COLLECTOR_TYPE : input.type;
    if (!TYPE_PATTERN.test(type)) throw invalidArgument(`invalid collector type ${JSON.stringify(type)}`);
    const expiresAt = this.expiryFrom(input.expiresInMs);
    const workspace = await this.requireWorkspace(input.workspace);
    for (let attempt = 1; ; attempt++) {
      const { key, prefix } = generateApiKey();
      const keyHash = await this.deps.hasher.hash(key);
      const id = await this.deps.db.transaction().execute(async (trx) => {
        const taken = await findCredentialsByPrefix(trx, prefix);
        if (taken) return undefined;
        const row = await collectors.insertCollector(trx, {
          workspace_id: workspace.id,
          name,
          type,
          key_prefix: prefix,
          key_hash: keyHash,
          expires_at: expiresAt,
        });
        return row.id;
      });
      if (id !== undefined) return { collector: await this.view(id), apiKey: key };
      if (attempt >= KEY_ATTEMPTS) throw new Error('could not generate a unique API key prefix');
    }
  }

  async listCollectors(workspace?: string): Promise<CollectorView[]> {
    const workspaceId = workspace === undefined ? undefined : (await this.requireWorkspace(workspace)).id;
    const rows = await collectors.listCollectors(this.deps.db, workspaceId);
    const now = this.deps.clock.now();
    return rows.map((r) => toCollectorView(r, now));
  }

  /** Issues a new key; the old one stops working at once (and on other replicas within the cache TTL). */
  async rotateKey(collectorId: string): Promise<IssuedKey> {
    const current = await this.requireCollector(collectorId);
    if (!current.is_active) {
      throw new DomainError('failed_precondition', `collector ${current.id} is revoked; create a new collector instead`);
    }
    for (let attempt = 1; ; attempt++) {
      const { key, prefix } = generateApiKey();
      const keyHash = await this.deps.hasher.hash(key);
      const updated = await this.deps.db.transaction().execute(async (trx) => {
        if (await findCredentialsByPrefix(trx, prefix)) return false;
        return collectors.updateCollector(trx, current.id, { key_prefix: prefix, key_hash: keyHash });
      });
      if (updated) {
        this.deps.onCollectorChanged?.(current.id);
        return { collector: await this.view(current.id), apiKey: key };
      }
      if (attempt >= KEY_ATTEMPTS) throw new Error('could not generate a unique API key prefix');
    }
  }

  /** Soft revoke: the row stays for audit, the key stops working. Revoking twice is harmless. */
  async revokeCollector(collectorId: string): Promise<CollectorView> {
    const current = await this.requireCollector(collectorId);
    if (current.is_active) {
      await collectors.updateCollector(this.deps.db, current.id, {
        is_active: false,
        revoked_at: new Date(this.deps.clock.now()),
      });
    }
    this.deps.onCollectorChanged?.(current.id);
    return this.view(current.id);
  }

  async updateCollector(collectorId: string, input: UpdateCollectorInput): Promise<CollectorView> {
    const limits = input.rateLimits;
    if (
      input.name === undefined &&
      input.expiresInMs === undefined &&
      limits?.requestsPerMin === undefined &&
      limits?.messagesPerMin === undefined
    ) {
      throw invalidArgument('nothing to update: give --name, --expires-in and/or --rate-limit');
    }
    const current = await this.requireCollector(collectorId);
    const patch: collectors.CollectorPatch = {};
    if (input.name !== undefined) patch.name = validName(input.name, 'collector name');
    if (input.expiresInMs !== undefined) patch.expires_at = input.expiresInMs === null ? null : this.expiryFrom(input.expiresInMs);
    if (limits?.requestsPerMin !== undefined) {
      patch.rate_limit_requests_per_min = validRateLimit(limits.requestsPerMin, 'requests');
    }
    if (limits?.messagesPerMin !== undefined) {
      patch.rate_limit_messages_per_min = validRateLimit(limits.messagesPerMin, 'messages');
    }
    await collectors.updateCollector(this.deps.db, current.id, patch);
    this.deps.onCollectorChanged?.(current.id);
    return this.view(current.id);
  }

  /** One workspace by id or slug (the admin service checks a scoped key against it). */
  async getWorkspace(idOrSlug: string): Promise<{ id: string; slug: string }> {
    const row = await this.requireWorkspace(idOrSlug);
    return { id: row.id, slug: row.slug };
  }

  /** One collector (the admin service checks a scoped key against its workspace). */
  async getCollector(collectorId: string): Promise<CollectorView> {
    return this.view(collectorId);
  }

  private expiryFrom(expiresInMs: number | undefined): Date | null {
    if (expiresInMs === undefined) return null;
    if (!Number.isFinite(expiresInMs) || expiresInMs <= 0) throw invalidArgument('expires-in must be a positive duration');
    return new Date(this.deps.clock.now() + expiresInMs);
  }

  private async requireWorkspace(idOrSlug: string) {
    const workspace = await workspaces.findWorkspace(this.deps.db, idOrSlug.trim());
    if (!workspace) throw notFound(`no workspace with id or slug "${idOrSlug}"`);
    return workspace;
  }

  private async requireCollector(id: string) {
    const collector = await collectors.findCollector(this.deps.db, id.trim());
    if (!collector) throw notFound(`no collector with id "${id}"`);
    return collector;
  }

  private async view(id: string): Promise<CollectorView> {
    return toCollectorView(await this.requireCollector(id), this.deps.clock.now());
  }
}

function validName(value: string | undefined, what: string): string {
  const name = (value ?? '').trim();
  if (name === '') throw invalidArgument(`${what} must not be empty`);
  if (name.length > MAX_NAME_LENGTH) throw invalidArgument(`${what} is longer than ${MAX_NAME_LENGTH} characters`);
  return name;
}

/** "My Team" -> "my-team". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** A per-collector limit: a positive whole number per minute, or null for the configured default. */
function validRateLimit(value: number | null, what: string): number | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || value < 1 || value > 2_147_483_647) {
    throw invalidArgument(`rate limit for ${what} must be a whole number from 1 to 2147483647 per minute`);
  }
  return value;
}
