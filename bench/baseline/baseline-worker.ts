import { type BaselineSpec, runBaseline } from './baseline';

/** Forked by bench/run: runs one baseline in its own Node process and reports back. */
process.once('message', (spec: BaselineSpec) => {
  runBaseline(spec).then(
    (result) => process.send?.({ kind: 'result', result }, () => process.exit(0)),
    (err: unknown) => process.send?.({ kind: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1)),
  );
});
