import type { AnyValue, KeyValue } from '../../generated/opentelemetry/proto/common/v1/common';

/** An OTLP AnyValue as a plain value (int64 stays bigint, bytes stay Buffer). */
export type AttrValue = string | boolean | number | bigint | Buffer | null | AttrValue[] | { [key: string]: AttrValue };

/** Converts an AnyValue (any of its oneof cases) to a plain value; unset is null. */
export function plainValue(value: AnyValue | undefined): AttrValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return value.intValue;
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue !== undefined) return value.arrayValue.values.map(plainValue);
  if (value.kvlistValue !== undefined) return Object.fromEntries(value.kvlistValue.values.map((kv) => [kv.key, plainValue(kv.value)]));
  return null;
}

/** JSON text of a plain value: int64 as a decimal string, bytes as base64 (OTLP JSON's rules). */
export function jsonText(value: AttrValue): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  });
}

/** A value as metadata text: strings unchanged, everything else as JSON. */
export function attributeText(value: AttrValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return jsonText(value);
}

/**
 * The attributes of a record or resource, by key (a repeated key: the last
 * one wins, as the OTLP spec leaves duplicates undefined).
 */
export class Attributes {
  readonly values: ReadonlyMap<string, AttrValue>;

  constructor(keyValues: readonly KeyValue[]) {
    const values = new Map<string, AttrValue>();
    for (const kv of keyValues) values.set(kv.key, plainValue(kv.value));
    this.values = values;
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  /** A string attribute, or the text of a number/bool; undefined when absent or empty. */
  text(key: string): string | undefined {
    const v = this.values.get(key);
    if (v === undefined || v === null) return undefined;
    const text = attributeText(v);
    return text === '' ? undefined : text;
  }

  /** A whole number given as int, double or decimal string; undefined otherwise. */
  integer(key: string): bigint | undefined {
    const v = this.values.get(key);
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
    return undefined;
  }

  /** A number given as int, double or numeric string. */
  number(key: string): number | undefined {
    const v = this.values.get(key);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    return undefined;
  }

  /** A boolean given as bool or as "true"/"false" text. */
  bool(key: string): boolean | undefined {
    const v = this.values.get(key);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      const t = v.trim().toLowerCase();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
    }
    return undefined;
  }

  /** Every attribute as metadata text. */
  entries(): Array<[string, string]> {
    return [...this.values].map(([k, v]) => [k, attributeText(v)]);
  }
}

/** An ISO-8601 timestamp (`event.timestamp`) as ns since the epoch; undefined when unparsable. */
export function isoToNs(text: string | undefined): bigint | undefined {
  if (!text) return undefined;
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}${match[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = (match[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(ms) * 1_000_000n + BigInt(fraction === '' ? 0 : Number(fraction));
}
