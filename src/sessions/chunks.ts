/** Splits rows into statements small enough for PostgreSQL's parameter limit. */
export function* chunked<T>(rows: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
