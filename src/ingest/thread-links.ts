/**
 * Parent links between the threads of one session, by source thread id. A
 * parent may be missing (sent later, or never): that is allowed. A thread
 * that is its own ancestor is not.
 */

/** The chain of ids from `start` back to `start` when following parents loops, else undefined. */
export function parentCycle(parents: ReadonlyMap<string, string | undefined>, start: string): string[] | undefined {
  const chain = [start];
  let current = parents.get(start);
  // A chain longer than the map has revisited a thread; a loop not through `start` is reported from its own threads.
  while (current !== undefined && chain.length <= parents.size) {
    chain.push(current);
    if (current === start) return chain;
    current = parents.get(current);
  }
  return undefined;
}

export function describeCycle(chain: readonly string[]): string {
  return chain.map((id) => JSON.stringify(id)).join(' → ');
}
