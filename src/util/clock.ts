/** Wall-clock time in ms since the epoch; tests pass a fake to move time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
