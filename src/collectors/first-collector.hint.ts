import type { Kysely } from 'kysely';
import type { Config } from '../config/config';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import { countCollectors } from './collector.repository';
import { firstWorkspace } from './workspace.repository';

const DEFAULT_DATA_DIR = './data';

/**
 * The exact command that creates the first collector, for a server that has
 * none yet. It repeats the database setting the CLI needs to find the same
 * database (never the DATABASE_URL itself: it may hold a password).
 */
export async function firstCollectorCommand(db: Kysely<DB>, config: Config): Promise<string | undefined> {
  // An in-memory database lives and dies with the server: no CLI can reach it.
  if (!config.database.url && config.database.dataDir.startsWith('memory://')) return undefined;
  if ((await countCollectors(db)) > 0) return undefined;
  const env = config.database.url
    ? 'DATABASE_URL=<same as the server> '
    : config.database.dataDir !== DEFAULT_DATA_DIR
      ? `DATA_DIR=${shellQuote(config.database.dataDir)} `
      : '';
  const workspace = await firstWorkspace(db);
  const create = (slug: string) =>
    `${env}npx catsyphon-ingest collector create --workspace ${shellQuote(slug)} --name my-collector`;
  return workspace
    ? create(workspace.slug)
    : `${env}npx catsyphon-ingest workspace create --name Default --slug default && ${create('default')}`;
}

export async function logFirstCollectorHint(db: Kysely<DB>, config: Config, logger: Logger): Promise<void> {
  const command = await firstCollectorCommand(db, config);
  if (command) logger.warn({ command }, `no collector exists yet; create one with: ${command}`);
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
