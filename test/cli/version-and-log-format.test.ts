import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/config';
import { packageVersion } from '../../src/cli/main';
import { createRootLogger, serverLogDestination } from '../../src/logging/logger';

const ROOT = path.resolve(__dirname, '../..');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('catsyphon-ingest --version', () => {
  test('prints the version from package.json', () => {
    expect(packageVersion()).toBe(version);
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'catsyphon-ingest.js'), '--version'], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(out.toString().trim()).toBe(version);
  });
});

describe('log format', () => {
  test('LOG_FORMAT is auto by default, takes json|pretty, and a wrong value names the variable', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  /** Logs one line through the destination `auto`/`pretty` would pick, printing into a buffer. */
  const prettyLine = async (format: 'auto' | 'pretty', isTty: boolean): Promise<string> => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (d) => (text += d));
    createRootLogger('info', serverLogDestination(format, isTty, sink)).info({ component: 'test', apiKey: 'cs_live_secret' }, 'hello there');
    await new Promise((r) => setImmediate(r));
    return text;
  };

  test('a terminal gets readable lines (secrets still redacted); pipes and files get JSON', async () => {
    const tty = await prettyLine('auto', true);
    expect(tty).toMatch(/INFO.*hello there/);
    expect(tty).not.toMatch(/^\{/);
    expect(tty).toContain('[REDACTED]');
    expect(tty).not.toContain('cs_live_secret');
    expect(await prettyLine('pretty', false)).toMatch(/INFO: hello there/);
    // Not a terminal: pino's own JSON destination (SonicBoom on stdout), not the pretty printer.
    for (const [format, isTty] of [['auto', false], ['json', true]] as const) {
      const dest = serverLogDestination(format, isTty, new PassThrough());
      expect(dest.constructor.name).toBe('SonicBoom');
    }
  });
});
