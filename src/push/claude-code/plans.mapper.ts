import { type Plan, PlanStatus } from '../../../generated/catsyphon/telemetry/v1/sessions';

type Json = Record<string, unknown>;

/** One transcript entry with its emitted time, in line order. */
export interface TimedEntry {
  readonly entry: Json;
  readonly emittedAtNs: bigint;
}

const blocks = (entry: Json): Json[] => {
  const content = (entry.message as Json | undefined)?.content;
  return Array.isArray(content) ? (content.filter((b) => b && typeof b === 'object') as Json[]) : [];
};

/**
 * Plans from plan mode: each ExitPlanMode tool call is a Plan (id = the
 * tool call id, content = its `plan` markdown, title = its first heading).
 * It is ACTIVE once proposed, ABANDONED when its tool result is an error
 * (the user rejected it); `updated_at_ns` is the time of that result, so a
 * later push of the grown transcript wins the server's upsert.
 */
export function plansOf(entries: readonly TimedEntry[]): Plan[] {
  const plans = new Map<string, Plan>();
  for (const { entry, emittedAtNs } of entries) {
    for (const block of blocks(entry)) {
      if (entry.type === 'assistant' && block.type === 'tool_use' && block.name === 'ExitPlanMode' && typeof block.id === 'string') {
        const content = String((block.input as Json | undefined)?.plan ?? '');
        const title = /^\s*#+\s*(.+)$/m.exec(content)?.[1]?.trim();
        const slug = typeof entry.slug === 'string' ? entry.slug : undefined;
        plans.set(block.id, {
          id: block.id,
          path: slug ? `~/.claude/plans/${slug}.md` : '',
          ...(title ? { title } : {}),
          status: PlanStatus.PLAN_STATUS_ACTIVE,
          content,
          createdAtNs: emittedAtNs,
        });
      }
      const plan = block.type === 'tool_result' ? plans.get(String(block.tool_use_id)) : undefined;
      if (plan) {
        plan.updatedAtNs = emittedAtNs;
        if (block.is_error === true) plan.status = PlanStatus.PLAN_STATUS_ABANDONED;
      }
    }
  }
  return [...plans.values()];
}
