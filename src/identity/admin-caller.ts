/**
 * Who is calling the admin service: the admin key behind the call (never the
 * key itself). Kept apart from `Caller` (a collector): an admin key cannot
 * ingest, a collector key cannot administer.
 */
export interface AdminCaller {
  readonly keyId: string;
  /** The name given at `admin-key create`: what the logs show. */
  readonly keyName: string;
  /** The one workspace the key may see and change; null: every workspace. */
  readonly workspaceId: string | null;
}
