import type { EntityMetadata } from 'typeorm';
import type { RowCodec } from './cache-aside.service';

type Kind = 'integer' | 'string' | 'date';
const INTEGER_TYPES = new Set(['int', 'integer', 'tinyint', 'smallint', 'mediumint']);

interface Field {
  property: string;
  kind: Kind;
  nullable: boolean;
}

/**
 * Rows are cached as the JSON of the entity (dates as ISO strings). A cached value is trusted only
 * if it decodes into a valid row of the entity: a JSON object with every column, each of its
 * column's type (a go-zero service sharing the Redis writes `{"Id":1,"Phone":{"String":..}}`; a
 * row cached before a column existed lacks it). Anything else decodes to null and is treated as a
 * miss. The fields come from the entity's own TypeORM metadata, so they cannot drift from it.
 */
export function entityCodec<T extends object>(entity: string, metadata: EntityMetadata): RowCodec<T> {
  const fields: Field[] = metadata.columns.map((column) => ({
    property: column.propertyName,
    kind:
      column.isCreateDate || column.isUpdateDate || /date|time/.test(String(column.type))
        ? 'date'
        : INTEGER_TYPES.has(String(column.type))
          ? 'integer'
          : 'string',
    nullable: column.isNullable,
  }));
  const prototype = (metadata.target as { prototype: object }).prototype;
  return {
    entity,
    encode: (row) => JSON.stringify(row),
    decode: (json) => {
      let raw: unknown;
      try {
        raw = JSON.parse(json);
      } catch {
        return null;
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
      const row = raw as Record<string, unknown>;
      for (const field of fields) {
        const value = row[field.property];
        if (value === null && field.nullable) continue;
        if (!fits(value, field.kind)) return null;
        if (field.kind === 'date') row[field.property] = new Date(value as string);
      }
      return Object.assign(Object.create(prototype) as T, row);
    },
    isId: (value) => /^[1-9]\d{0,19}$/.test(value),
  };
}

function fits(value: unknown, kind: Kind): boolean {
  if (kind === 'integer') return Number.isSafeInteger(value);
  if (kind === 'string') return typeof value === 'string';
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}
