import { FailureBudget } from '../../src/auth/auth-failure-budget';

// Pure unit tests of the reusable budget (API keys now, admin keys later): no server, no database.
describe('FailureBudget', () => {
  test('refuses a subject after its own limit of failures, with a retry delay; other subjects go on', async () => {
    const budget = new FailureBudget({ perSubject: 3, global: 100, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect((await budget.reserve('a')).kind).toBe('reserved');
    const refused = await budget.reserve('a');
    expect(refused).toMatchObject({ kind: 'refused', limit: 'subject' });
    expect(refused.kind === 'refused' && refused.retryDelayMs).toBeGreaterThan(0);
    expect((await budget.reserve('b')).kind).toBe('reserved');
  });

  test('a check that succeeds gives its reservation back (once, however often it says so)', async () => {
    const budget = new FailureBudget({ perSubject: 2, global: 100, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      const outcome = await budget.reserve('a');
      if (outcome.kind !== 'reserved') throw new Error('expected a reservation');
      await outcome.reservation.succeeded();
      await outcome.reservation.succeeded();
    }
    expect((await budget.reserve('a')).kind).toBe('reserved');
    expect((await budget.reserve('a')).kind).toBe('reserved');
    expect((await budget.reserve('a')).kind).toBe('refused');
  });

  test('the global limit bounds failures over all subjects; a refusal costs the subject nothing', async () => {
    const budget = new FailureBudget({ perSubject: 2, global: 5, windowMs: 60_000 });
    const kinds = [];
    for (const subject of ['a', 'a', 'b', 'b', 'c', 'd', 'e']) kinds.push((await budget.reserve(subject)).kind);
    expect(kinds).toEqual(['reserved', 'reserved', 'reserved', 'reserved', 'reserved', 'refused', 'refused']);
    expect(await budget.reserve('f')).toMatchObject({ kind: 'refused', limit: 'global' });
  });
});
