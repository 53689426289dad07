import { measureStages, type StagesSpec } from './stages';

/** Forked by bench/run: times the ingestion steps in a process of its own. */
process.once('message', (spec: StagesSpec) => {
  measureStages(spec).then(
    (stages) => process.send?.({ kind: 'result', stages }, () => process.exit(0)),
    (err: unknown) => process.send?.({ kind: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1)),
  );
});
