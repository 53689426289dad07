import type { Command } from 'commander';
import { networkAdmin } from '../admin/admin.client';
import type { AdminApi } from '../admin/admin-api';
import { channelCredentials, tlsOptionsFromFlags } from '../client/channel';

/** The global options that send the workspace and collector commands to a server's admin API. */
export interface RemoteAdminFlags {
  server?: string;
  adminKey?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

/** Adds `--server/--admin-key` and the TLS flags of `push` to the program (before the command). */
export function addRemoteAdminOptions(program: Command): void {
  program
    .enablePositionalOptions()
    .option('--server <host:port>', 'run workspace/collector commands on this server\'s admin API (ADMIN_API=on)')
    .option('--admin-key <key>', 'admin key for --server (default: $CATSYPHON_ADMIN_KEY)')
    .option('--tls', 'connect to --server with TLS (system roots unless --ca)')
    .option('--ca <file>', 'PEM CA certificate to trust (implies --tls)')
    .option('--cert <file>', 'PEM client certificate chain, for mutual TLS (implies --tls)')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--server-name <name>', 'name to check the server certificate against');
}


/**
 * The network admin API the flags ask for, or undefined when there is no
 * --server (the commands then run locally: database or admin socket).
 */
export function remoteAdminFrom(flags: RemoteAdminFlags, env: NodeJS.ProcessEnv = process.env): AdminApi | undefined {
  if (flags.server === undefined) {
    if (flags.adminKey !== undefined) throw new Error('--admin-key needs --server <host:port>');
    if (flags.tls || flags.ca || flags.cert || flags.key) throw new Error('--tls/--ca/--cert/--key need --server <host:port>');
    return undefined;
  }
  const adminKey = flags.adminKey ?? env.CATSYPHON_ADMIN_KEY;
  if (!adminKey) throw new Error('an admin key is required with --server: --admin-key or CATSYPHON_ADMIN_KEY');
  const tls = tlsOptionsFromFlags(flags);
  return networkAdmin({
    address: flags.server,
    adminKey,
    credentials: channelCredentials(tls),
    channelOptions:
      typeof tls === 'object' && tls.serverNameOverride ? { 'grpc.ssl_target_name_override': tls.serverNameOverride } : {},
  });
}
