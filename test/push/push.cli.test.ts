import { join } from 'node:path';
import { Command } from 'commander';
import { addPushCommand, defaultStateFile } from '../../src/push/push.cli';
import { FaultServer } from '../helpers/fault-server';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'json', 'codex-session.json');

describe('catsyphon-ingest push: command-line wiring', () => {
  let server: FaultServer;
  let written: string[];
  let restore: () => void;
  beforeAll(async () => {
    server = await new FaultServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    written = [];
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    restore = () => {
      out.mockRestore();
      err.mockRestore();
      process.exitCode = undefined;
    };
  });
  afterEach(() => restore());

  const cli = (env: NodeJS.ProcessEnv) => {
    const program = new Command('catsyphon-ingest').exitOverride();
    addPushCommand(program, env);
    return program;
  };

  test('takes the API key from CATSYPHON_API_KEY and prints one JSON object with --json', async () => {
    await cli({ CATSYPHON_API_KEY: 'cs_live_from_env' }).parseAsync(
      ['push', EXAMPLE, '--server', server.address, '--json', '--no-state', '--batch-size', '10', '--timeout', '5s'],
      { from: 'user' },
    );
    expect(server.calls[0].authorization).toBe('Bearer cs_live_from_env');
    expect(JSON.parse(written.join(''))).toMatchObject({ ok: true, counts: { created: 1 } });
    expect(process.exitCode).toBe(0);
  });

  test('--api-key wins over the environment', async () => {
    await cli({ CATSYPHON_API_KEY: 'cs_live_from_env' }).parseAsync(
      ['push', EXAMPLE, '--server', server.address, '--api-key', 'cs_live_flag', '--no-state'],
      { from: 'user' },
    );
    expect(server.calls[0].authorization).toBe('Bearer cs_live_flag');
  });

  test('refuses to run without an API key, and rejects bad numbers', async () => {
    await expect(cli({}).parseAsync(['push', EXAMPLE, '--server', server.address], { from: 'user' })).rejects.toThrow(
      /an API key is required: --api-key or CATSYPHON_API_KEY/,
    );
    await expect(
      cli({ CATSYPHON_API_KEY: 'k' }).parseAsync(['push', EXAMPLE, '--batch-size', '0'], { from: 'user' }),
    ).rejects.toThrow();
    expect(server.calls).toEqual([]);
  });

  test('the state file lives under XDG_STATE_HOME when set', () => {
    expect(defaultStateFile({ XDG_STATE_HOME: '/var/state' })).toBe('/var/state/catsyphon-ingest/push-state.json');
  });
});
