import { RowCodec } from './cache-aside.service';

const DATE_FIELDS = ['createdAt', 'updatedAt'];

/** Rows are cached as their JSON; dates come back as Date objects. */
export function jsonCodec<T extends object>(entity: string, ctor: new () => T): RowCodec<T> {
  return {
    entity,
    encode: (row) => JSON.stringify(row),
    decode: (json) => {
      const raw = JSON.parse(json) as Record<string, unknown>;
      for (const field of DATE_FIELDS) if (typeof raw[field] === 'string') raw[field] = new Date(raw[field] as string);
      return Object.assign(new ctor(), raw);
    },
  };
}
