import { onPath, program, type Requirement, requires } from './requirements';

const missing: Requirement = { what: 'the haproxy program', install: 'apt-get install haproxy', present: false };
const present: Requirement = { what: 'the node program', install: 'https://nodejs.org', present: true };

describe('test requirements (skip with a reason, fail under CI)', () => {
  test('every requirement present: the tests run with the real describe', () => {
    const lines: string[] = [];
    const gate = requires([present], {}, (l) => lines.push(l));
    expect(gate.runs).toBe(true);
    expect(gate.describe).toBe(describe);
    expect(lines).toEqual([]);
  });

  test('a missing requirement outside CI: skipped, with one line naming it and how to install it', () => {
    const lines: string[] = [];
    const gate = requires([present, missing], { CI: 'false' }, (l) => lines.push(l));
    expect(gate.runs).toBe(false);
    expect(gate.describe).toBe(describe.skip);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^SKIPPED .*requirements\.test\.ts: needs the haproxy program, which is missing \(install: apt-get install haproxy\)$/);
  });

  test('a missing requirement under CI=true fails the file, naming it', () => {
    const lines: string[] = [];
    expect(() => requires([missing], { CI: 'true' }, (l) => lines.push(l))).toThrow(/needs the haproxy program.*\n.*CI=true/);
    expect(lines).toEqual([]);
  });

  test('onPath finds programs by PATH, as the shell would', () => {
    expect(onPath('node', { PATH: require('node:path').dirname(process.execPath) })).toBe(true);
    expect(onPath('node', { PATH: '/nonexistent-dir' })).toBe(false);
    expect(program('definitely-not-a-program-cs').present).toBe(false);
  });
});
