import { type Kysely, sql } from 'kysely';
import type { DB, PlanRow } from '../db/schema';
import type { planRow } from './session.mapper';
import { chunked } from './chunks';

export type NewPlanRow = ReturnType<typeof planRow>;

const ROWS_PER_STATEMENT = 2000;

/**
 * Upserts plans by (session, plan id). An existing plan is replaced only when
 * the new one has a newer updated_at. Returns the ids of plans inserted or
 * replaced (the rest were already stored as sent, or newer).
 */
export async function upsertPlans(db: Kysely<DB>, rows: readonly NewPlanRow[]): Promise<number> {
  let changed = 0;
  for (const chunk of chunked(rows, ROWS_PER_STATEMENT)) {
    const returned = await db
      .insertInto('plans')
      .values(chunk)
      .onConflict((oc) =>
        oc
          .columns(['session_id', 'plan_id'])
          .doUpdateSet({
            path: (eb) => eb.ref('excluded.path'),
            title: (eb) => eb.ref('excluded.title'),
            status: (eb) => eb.ref('excluded.status'),
            content: (eb) => eb.ref('excluded.content'),
            content_bin: (eb) => eb.ref('excluded.content_bin'),
            created_at_ns: (eb) => eb.ref('excluded.created_at_ns'),
            updated_at_ns: (eb) => eb.ref('excluded.updated_at_ns'),
            updated_at: sql<Date>`now()`,
          })
          .where(sql<boolean>`excluded.updated_at_ns IS NOT NULL AND (plans.updated_at_ns IS NULL OR excluded.updated_at_ns > plans.updated_at_ns)`),
      )
      .returning('plan_id')
      .execute();
    changed += returned.length;
  }
  return changed;
}

export async function listPlans(db: Kysely<DB>, sessionId: string): Promise<PlanRow[]> {
  return db.selectFrom('plans').selectAll().where('session_id', '=', sessionId).orderBy('ordinal').execute();
}

/** Inserts plans of sessions created in this transaction. */
export async function insertNewPlans(db: Kysely<DB>, rows: readonly NewPlanRow[]): Promise<void> {
  for (const chunk of chunked(rows, ROWS_PER_STATEMENT)) await db.insertInto('plans').values(chunk).execute();
}
