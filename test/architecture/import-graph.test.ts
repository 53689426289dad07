import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Keeps the layering of docs/architecture.md true: reads every import of
 * src/**\/*.ts (a regex over the text, no compiler) and checks the graph of
 * top-level folders. Files directly in src/ (app.ts, index.ts) are nodes of
 * their own: the composition root and the package entry.
 */
const SRC = path.resolve(__dirname, '../../src');
const ARCHITECTURE_DOC = path.resolve(__dirname, '../../docs/architecture.md');

/** Folders of the domain: they never import the transport (src/grpc/). */
const DOMAIN = ['auth', 'protect', 'ingest', 'sessions', 'query', 'metrics', 'identity', 'collectors', 'errors', 'audit', 'lifecycle'];

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The node a file belongs to: its top-level folder under src/, or the file itself when directly in src/. */
function nodeOf(file: string): string | undefined {
  const rel = path.relative(SRC, file);
  if (rel.startsWith('..')) return undefined; // outside src/ (generated/, package.json)
  const parts = rel.split(path.sep);
  return parts[0];
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly file: string;
  readonly specifier: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const from = nodeOf(file) as string;
    for (const match of text.matchAll(IMPORT)) {
      const to = nodeOf(path.resolve(path.dirname(file), match[1]));
      if (to !== undefined && to !== from) edges.push({ from, to, file: path.relative(SRC, file), specifier: match[1] });
    }
  }
  return edges;
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    indexes.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexes.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indexes.get(w) as number));
    }
    if (low.get(v) === indexes.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexes.has(v)) visit(v);
  return out;
}

describe('import graph of src/', () => {
  const edges = importEdges();
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    if (!graph.has(e.to)) graph.set(e.to, new Set());
    (graph.get(e.from) as Set<string>).add(e.to);
  }

  test('the regex sees the imports (sanity check of the checker itself)', () => {
    expect(graph.get('ingest')?.has('sessions')).toBe(true);
    expect(graph.get('app.ts')?.has('grpc')).toBe(true);
  });

  test('no folder imports a folder that imports it back, directly or through others', () => {
    expect(cycles(graph)).toEqual([]);
  });

  test('the domain never imports the transport (src/grpc/)', () => {
    const offending = edges
      .filter((e) => DOMAIN.includes(e.from) && e.to === 'grpc')
      .map((e) => `${e.file} imports ${e.specifier}`);
    expect(offending).toEqual([]);
  });

  test('ingest/ and query/ share the session store instead of importing each other', () => {
    const between = edges
      .filter((e) => (e.from === 'ingest' && e.to === 'query') || (e.from === 'query' && e.to === 'ingest'))
      .map((e) => `${e.file} imports ${e.specifier}`);
    expect(between).toEqual([]);
  });

  test('docs/architecture.md describes every folder of src/', () => {
    const doc = readFileSync(ARCHITECTURE_DOC, 'utf8');
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    const missing = folders.filter((folder) => !doc.includes(`\`src/${folder}/\``));
    expect(missing).toEqual([]);
  });
});

describe('src/otlp/', () => {
  test('its mapping (dialects, assembler, stored-state merge, export service) imports no transport', () => {
    const transportFiles = /^otlp\/(logs-export\.handler|otlp-http\.[a-z]+|unsupported-signals)\.ts$/;
    const offending = importEdgesOf('otlp')
      .filter((e) => !transportFiles.test(e.file) && e.to === 'grpc')
      .map((e) => `${e.file} imports ${e.specifier}`);
    expect(offending).toEqual([]);
    // The checker sees otlp's imports at all.
    expect(importEdgesOf('otlp').some((e) => e.to === 'ingest')).toBe(true);
  });
});

function importEdgesOf(folder: string): Edge[] {
  return importEdges().filter((e) => e.from === folder);
}
