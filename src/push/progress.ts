/** A stream the bar can draw on (process.stderr, or a test double). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

const WIDTH = 30;

/**
 * A one-line progress bar, drawn only on a terminal and only for enough
 * items to be worth it: `label [######------]  12/40`. Redraws at most
 * once per percent.
 */
export function progressBar(stream: ProgressStream, label: string, total: number, minItems = 20): Progress {
  if (!stream.isTTY || total < minItems) return { tick: () => undefined, done: () => undefined };
  let count = 0;
  let drawnPercent = -1;
  const draw = () => {
    const percent = Math.floor((count / total) * 100);
    if (percent === drawnPercent && count !== total) return;
    drawnPercent = percent;
    const filled = Math.round((count / total) * WIDTH);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${count}/${total}`);
  };
  draw();
  return {
    tick: (n = 1) => {
      count = Math.min(total, count + n);
      draw();
    },
    done: () => stream.write('\r\x1b[K'),
  };
}
