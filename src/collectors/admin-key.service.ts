import type { Kysely } from 'kysely';
import { findAdminCredentialsByPrefix } from '../auth/admin-credentials.repository';
import { displayAdminPrefix, generateAdminKey } from '../auth/admin-key';
import type { KeyHasher } from '../auth/key-hasher';
import type { DB } from '../db/schema';
import { invalidArgument, notFound } from '../errors/domain-error';
import type { Clock } from '../util/clock';
import * as adminKeys from './admin-key.repository';
import type { AdminKeyView, CreateAdminKeyInput, IssuedAdminKey } from './collector.views';
import { findWorkspace, UUID_PATTERN } from './workspace.repository';

export interface AdminKeyServiceDeps {
  readonly db: Kysely<DB>;
  readonly hasher: KeyHasher;
  readonly clock: Clock;
  /** Told after a key was revoked, so a server running this clears its admin auth cache at once. */
  readonly onAdminKeyRevoked?: (keyId: string) => void;
}

const MAX_NAME_LENGTH = 200;
const KEY_ATTEMPTS = 3;

/**
 * Admin keys for the network admin service (`admin-key create|list|revoke`).
 * Managed only with local database access or over the admin socket: an admin
 * key cannot mint admin keys.
 */
export class AdminKeyService {
  constructor(private readonly deps: AdminKeyServiceDeps) {}

  async create(input: CreateAdminKeyInput): Promise<IssuedAdminKey> {
    const name = (input.name ?? '').trim();
    if (name === '') throw invalidArgument('admin key name must not be empty');
    if (name.length > MAX_NAME_LENGTH) throw invalidArgument(`admin key name is longer than ${MAX_NAME_LENGTH} characters`);
    let workspaceId: string | null = null;
    if (input.workspace !== undefined && input.workspace.trim() !== '') {
      const workspace = await findWorkspace(this.deps.db, input.workspace.trim());
      if (!workspace) throw notFound(`no workspace with id or slug "${input.workspace}"`);
      workspaceId = workspace.id;
    }
    let expiresAt: Date | null = null;
    if (input.expiresInMs !== undefined) {
      if (!Number.isFinite(input.expiresInMs) || input.expiresInMs <= 0) throw invalidArgument('expires-in must be a positive duration');
      expiresAt = new Date(this.deps.clock.now() + input.expiresInMs);
    }
    for (let attempt = 1; ; attempt++) {
      const { key, prefix } = generateAdminKey();
      const keyHash = await this.deps.hasher.hash(key);
      const id = await this.deps.db.transaction().execute(async (trx) => {
        if (await findAdminCredentialsByPrefix(trx, prefix)) return undefined;
        return adminKeys.insertAdminKey(trx, { name, workspace_id: workspaceId, key_prefix: prefix, key_hash: keyHash, expires_at: expiresAt });
      });
      if (id !== undefined) return { adminKey: await this.view(id), key };
      if (attempt >= KEY_ATTEMPTS) throw new Error('could not generate a unique admin key prefix');
    }
  }

  async list(): Promise<AdminKeyView[]> {
    const now = this.deps.clock.now();
    return (await adminKeys.listAdminKeys(this.deps.db)).map((r) => toAdminKeyView(r, now));
  }

  /** Revoking twice is harmless; the row stays. */
  async revoke(id: string): Promise<AdminKeyView> {
    const current = await this.view(id);
    await adminKeys.revokeAdminKey(this.deps.db, current.id, new Date(this.deps.clock.now()));
    this.deps.onAdminKeyRevoked?.(current.id);
    return this.view(current.id);
  }

  private async view(id: string): Promise<AdminKeyView> {
    const trimmed = id.trim();
    const row = UUID_PATTERN.test(trimmed) ? await adminKeys.findAdminKey(this.deps.db, trimmed.toLowerCase()) : undefined;
    if (!row) throw notFound(`no admin key with id "${id}"`);
    return toAdminKeyView(row, this.deps.clock.now());
  }
}

const iso = (d: unknown): string => new Date(d as Date | string).toISOString();

function toAdminKeyView(row: adminKeys.AdminKeyWithWorkspace, nowMs: number): AdminKeyView {
  const expired = row.expires_at !== null && new Date(row.expires_at as Date | string).getTime() <= nowMs;
  return {
    id: row.id,
    name: row.name,
    workspaceId: row.workspace_id,
    workspaceSlug: row.workspace_slug,
    keyPrefix: displayAdminPrefix(row.key_prefix),
    status: !row.is_active ? 'revoked' : expired ? 'expired' : 'active',
    expiresAt: row.expires_at === null ? null : iso(row.expires_at),
    createdAt: iso(row.created_at),
    revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
  };
}
