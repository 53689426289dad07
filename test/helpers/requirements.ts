import { accessSync, constants, existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Tests that need something outside Node (a program such as haproxy, a
 * PostgreSQL server, PostgreSQL's own binaries) run when it is there. When it
 * is missing they are skipped with one line that says what is missing and how
 * to get it, except under CI (CI=true), where a missing requirement fails the
 * file: CI must always exercise these tests.
 */
export interface Requirement {
  /** What the tests need, as a user would name it. */
  readonly what: string;
  /** How to get it, e.g. `apt-get install haproxy`. */
  readonly install: string;
  /** Whether it is present. */
  readonly present: boolean;
}

export function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export const program = (name: string, install = `apt-get install ${name}`): Requirement => ({
  what: `the ${name} program`,
  install,
  present: onPath(name),
});

/** The admin URL of a reachable PostgreSQL server, as found by test/helpers/global-setup.ts. */
export const POSTGRES_URL_ENV = 'CS_TEST_POSTGRES_URL';
export const postgresAdminUrl = (): string | undefined => process.env[POSTGRES_URL_ENV] || undefined;

export const postgresServer = (): Requirement => ({
  what: 'a PostgreSQL server (TEST_DATABASE_URL, or one on 127.0.0.1:5432)',
  install: 'apt-get install postgresql, or set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB',
  present: postgresAdminUrl() !== undefined,
});

/** PostgreSQL's server binaries, for tests that start and stop a private cluster. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
export const postgresBinaries = (): Requirement => ({
  what: `PostgreSQL 15's server binaries (${POSTGRES_BIN}) and the runuser program`,
  install: 'apt-get install postgresql-15',
  present: existsSync(path.join(POSTGRES_BIN, 'initdb')) && onPath('runuser'),
});

export interface Gate {
  /** `describe` when every requirement is present, `describe.skip` otherwise. */
  readonly describe: jest.Describe;
  /** Whether the tests run. */
  readonly runs: boolean;
}

/**
 * Decides, when a test file loads, whether its tests can run. Absent
 * requirements print one line each and skip the tests; under CI they throw,
 * which fails the file with the same line.
 */
export function requires(
  requirements: Requirement[],
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Gate {
  const missing = requirements.filter((r) => !r.present);
  if (missing.length === 0) return { describe, runs: true };
  const file = path.relative(process.cwd(), expect.getState().testPath ?? 'this test file');
  const lines = missing.map((r) => `${file}: needs ${r.what}, which is missing (install: ${r.install})`);
  if (env.CI === 'true') {
    throw new Error(`${lines.join('\n')}\nCI=true: CI must run these tests, so a missing requirement fails the run.`);
  }
  for (const line of lines) warn(`SKIPPED ${line}`);
  return { describe: describe.skip, runs: false };
}
