import { InvalidArgumentError } from 'commander';
import type { AdminApi } from '../admin/admin-api';
import type { CollectorView, IssuedKey } from '../collectors/collector.views';
import { loadConfig } from '../config/config';
import { parseDuration } from '../util/duration';
import { cliLogger, openAdmin } from './admin-connection';
import { type RemoteAdminFlags, remoteAdminFrom } from './remote-admin.option';

let remoteFlags: RemoteAdminFlags = {};

/** Set from the program's global options before a command runs (`--server`, `--admin-key`, TLS). */
export function setRemoteAdminFlags(flags: RemoteAdminFlags): void {
  remoteFlags = flags;
}

/** True when the command runs on a server's network admin API (`--server`). */
export function isRemoteAdmin(): boolean {
  return remoteFlags.server !== undefined;
}

/**
 * Opens the admin API for one command, runs it, and closes what it opened:
 * the network admin API with `--server`, else the database or admin socket.
 */
export async function withAdmin<T>(role: string, run: (admin: AdminApi) => Promise<T>): Promise<T> {
  const admin = remoteAdminFrom(remoteFlags) ?? (await openAdmin(loadConfig(), cliLogger(), { role }));
  try {
    return await run(admin);
  } finally {
    await admin.close();
  }
}

/** commander argument parser for --expires-in: 30s, 15m, 12h, 90d. */
export function expiresIn(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0 || !/[smhd]\s*$/i.test(text)) {
    throw new InvalidArgumentError('expected a duration such as 30s, 15m, 12h or 90d');
  }
  return ms;
}

/** Like expiresIn, plus `never` to remove an expiry (commander turns a null result into ''). */
export function expiresInOrNever(text: string): number | 'never' {
  return text.trim().toLowerCase() === 'never' ? 'never' : expiresIn(text);
}

export function describeCollector(c: CollectorView): string {
  return [
    `  collector id: ${c.id}`,
    `  name:         ${c.name}`,
    `  type:         ${c.type}`,
    `  workspace:    ${c.workspaceSlug} (${c.workspaceId})`,
    `  status:       ${c.status}`,
    `  key prefix:   ${c.keyPrefix}`,
    `  expires:      ${c.expiresAt ?? 'never'}`,
    `  rate limits:  ${c.rateLimits.requestsPerMin ?? 'default'} requests/min, ${c.rateLimits.messagesPerMin ?? 'default'} messages/min`,
    ...(c.revokedAt ? [`  revoked at:   ${c.revokedAt}`] : []),
  ].join('\n');
}

export function issuedKeyJson(issued: IssuedKey): object {
  return {
    collectorId: issued.collector.id,
    workspaceId: issued.collector.workspaceId,
    apiKey: issued.apiKey,
    collector: issued.collector,
  };
}

export function describeIssuedKey(issued: IssuedKey): string {
  return [
    describeCollector(issued.collector),
    `  API key:      ${issued.apiKey}`,
    '',
    'Store the key now: it is shown only this once and cannot be recovered.',
    'Collectors send it as the gRPC metadata `authorization: Bearer <key>`.',
  ].join('\n');
}
