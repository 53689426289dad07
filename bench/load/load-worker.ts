import { LoadDriver } from './driver';
import type { FromClient, ToClient } from './protocol';

/**
 * The load client: a separate process (forked by bench/run) so that its CPU
 * is not the server's. It waits for `init`, then runs phases on request.
 */
let driver: LoadDriver | undefined;

const send = (message: FromClient): void => {
  process.send?.(message);
};

process.on('message', (message: ToClient) => {
  void handle(message).catch((err: unknown) => send({ kind: 'error', message: (err as Error).stack ?? String(err) }));
});
process.on('disconnect', () => {
  driver?.close();
  process.exit(0);
});

async function handle(message: ToClient): Promise<void> {
  switch (message.kind) {
    case 'init': {
      driver = new LoadDriver(message);
      send({
        kind: 'ready',
        requestBytes: driver.nextBatch().length,
        messagesPerBatch: driver.messagesPerBatch,
        sessionsPerBatch: message.workload.sessionsPerBatch,
        smallRequestBytes: driver.smallBatch().length,
      });
      return;
    }
    case 'phase': {
      if (!driver) throw new Error('phase before init');
      const result = await driver.runPhase(message.spec, {
        windowStart: () => send({ kind: 'window-start' }),
        windowEnd: () => send({ kind: 'window-end' }),
      });
      send({ kind: 'result', result });
      return;
    }
    case 'exit':
      driver?.close();
      process.disconnect?.();
      return;
  }
}
