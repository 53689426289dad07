/**
 * Parent links between the threads of one session, by source thread id. A
 * parent may be missing (sent later, or never): that is allowed. A thread
 * that is its own ancestor is not.
 */

/**
 * The first cycle of parent links, as a chain that starts and ends at the
 * thread of `order` that comes first on it (`a → b → a`), else undefined.
 * Linear in the number of threads: every thread is walked at most once, so a
 * long chain of sub-agents costs no more than a flat list.
 */
export function firstParentCycle(
  order: readonly string[],
  parents: ReadonlyMap<string, string | undefined>,
): string[] | undefined {
  const settled = new Set<string>();
  for (const start of order) {
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let current: string | undefined = start;
    while (current !== undefined && parents.has(current) && !settled.has(current)) {
      const at = onPath.get(current);
      if (at !== undefined) return rotate(path.slice(at), order);
      onPath.set(current, path.length);
      path.push(current);
      current = parents.get(current);
    }
    for (const id of path) settled.add(id);
  }
  return undefined;
}

/** The loop `nodes` (without the repeat) as a closed chain starting at its first thread in `order`. */
function rotate(nodes: string[], order: readonly string[]): string[] {
  const members = new Set(nodes);
  const first = order.find((id) => members.has(id)) ?? nodes[0];
  const i = nodes.indexOf(first);
  return [...nodes.slice(i), ...nodes.slice(0, i), first];
}

export function describeCycle(chain: readonly string[]): string {
  return chain.map((id) => JSON.stringify(id)).join(' → ');
}
