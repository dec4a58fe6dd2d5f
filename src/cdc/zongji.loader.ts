import type ZongJi from '@vlasky/zongji';

export type { default as ZongJi, BinlogEvent, QueryEvent, RowsEvent, TableMapEntry, ZongJiDsn, ZongJiOptions } from '@vlasky/zongji';

/**
 * @vlasky/zongji is ESM-only. Node >= 20.19 can require() it from this CommonJS build; Node's own
 * require is taken from the built-in module (not from a bundler's or Jest's module registry, which
 * cannot load ES modules), so the same code loads it in the service and in the tests.
 */
export function loadZongJi(): typeof ZongJi {
  const { createRequire } = process.getBuiltinModule('module');
  return (createRequire(__filename)('@vlasky/zongji') as { default: typeof ZongJi }).default;
}
