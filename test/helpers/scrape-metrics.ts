import type { TestApp } from './test-app';

/** Parses the Prometheus text format into `name{labels}` -> value. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Scrapes the app's /metrics over HTTP. */
export async function scrapeMetrics(t: Pick<TestApp, 'app'>): Promise<Map<string, number>> {
  const port = t.app.metricsServer?.port;
  if (port === undefined) throw new Error('the app has no metrics listener');
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

/** How much each series grew between two scrapes (a series absent before counts from 0). */
export function deltas(before: Map<string, number>, after: Map<string, number>): (key: string) => number {
  return (key) => (after.get(key) ?? NaN) - (before.get(key) ?? 0);
}
