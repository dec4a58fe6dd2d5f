import { UserStatus } from '../common/user-status';
import { BinlogPosition } from './binlog-position';
import { CapturedChange, CapturedTransaction, RowImages, TransactionAssembler } from './transaction-assembler';
import type { BinlogEvent } from './zongji.loader';

type Row = Record<string, unknown>;
const at = (position: number): BinlogPosition => ({ file: 'bin.000001', position, gtid: null });
const TABLES: Record<number, { parentSchema: string; tableName: string }> = {
  1: { parentSchema: 'hi', tableName: 'app_users' },
  2: { parentSchema: 'hi', tableName: 'devices' },
  3: { parentSchema: 'hi', tableName: 'oa_users' },
  4: { parentSchema: 'hi', tableName: 'migrations' },
  5: { parentSchema: 'other', tableName: 'app_users' },
};

function rows(name: 'writerows' | 'updaterows' | 'deleterows', tableId: number, rowList: Array<Row | { before: Row; after: Row }>): BinlogEvent {
  return { getEventName: () => name, tableId, tableMap: TABLES, rows: rowList, timestamp: 0 } as unknown as BinlogEvent;
}
const xid = (timestamp = 1000): BinlogEvent => ({ getEventName: () => 'xid', timestamp }) as unknown as BinlogEvent;
const query = (text: string, schema = 'hi'): BinlogEvent => ({ getEventName: () => 'query', query: text, schema, timestamp: 2000 }) as unknown as BinlogEvent;

// The entities' columns map to their properties as TypeORM metadata says (user_id -> userId).
const images: RowImages = (_, row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k === 'user_id' ? 'userId' : k, v]));

function feed(assembler: TransactionAssembler, events: BinlogEvent[]): CapturedChange[] {
  return events.flatMap((event, i) => assembler.accept(event, at(100 + i)));
}
const commits = (changes: CapturedChange[]): CapturedTransaction[] => changes.flatMap((c) => (c.kind === 'commit' ? [c.transaction] : []));

describe('TransactionAssembler', () => {
  const user = { id: 7, phone: '13800000000', email: null, status: UserStatus.Active };
  const device = { id: 3, identifier: 'dev-1', user_id: 7 };

  it('invalidates the keys of the old and the new image as they arrive, and again at the commit', () => {
    const changes = feed(new TransactionAssembler('hi', images), [
      rows('updaterows', 1, [{ before: user, after: { ...user, phone: '2', email: 'a@b.c' } }]),
      xid(1234),
    ]);
    const keys = ['cache:appUsers:id:7', 'cache:appUsers:phone:13800000000', 'cache:appUsers:id:7', 'cache:appUsers:phone:2', 'cache:appUsers:email:a@b.c'];
    expect(changes[0]).toEqual({ kind: 'keys', keys });
    expect(commits(changes)).toEqual([
      { position: at(101), committedAt: 1234, keys, tables: [], endings: [], everySession: false, probe: { table: 'app_users', id: 7 }, relevant: true },
    ]);
  });

  it('takes the keys of inserted or deleted rows, and none of tables that are not cached or of another schema', () => {
    const changes = feed(new TransactionAssembler('hi', images), [
      rows('writerows', 2, [{ identifier: 'd-1', user_id: 3, id: 9 }]),
      rows('writerows', 4, [{ id: 1 }]),
      rows('deleterows', 5, [{ id: 1, phone: '1' }]),
      xid(),
    ]);
    expect(changes.filter((c) => c.kind === 'keys')).toEqual([{ kind: 'keys', keys: ['cache:devices:identifier:d-1'] }]);
    expect(commits(changes)[0]).toMatchObject({ keys: ['cache:devices:identifier:d-1'], probe: { table: 'devices', id: 9 }, relevant: true });
  });

  it('a transaction of other tables only is not relevant (and not checkpointed)', () => {
    expect(commits(feed(new TransactionAssembler('hi', images), [rows('writerows', 4, [{ id: 1 }]), xid()]))[0]).toMatchObject({
      keys: [],
      relevant: false,
      probe: null,
    });
  });

  it("ends a deleted user's sessions, and a disabled one's, but not on other updates", () => {
    const endings = (event: BinlogEvent) => commits(feed(new TransactionAssembler('hi', images), [event, xid()]))[0].endings;
    expect(endings(rows('deleterows', 1, [user]))).toEqual([{ kind: 'user', userId: 7, reason: 'deleted' }]);
    expect(endings(rows('updaterows', 1, [{ before: user, after: { ...user, status: UserStatus.Disabled } }]))).toEqual([
      { kind: 'user', userId: 7, reason: 'disabled' },
    ]);
    expect(endings(rows('updaterows', 1, [{ before: user, after: { ...user, phone: '13900000000' } }]))).toEqual([]);
    expect(endings(rows('writerows', 1, [user]))).toEqual([]);
  });

  it("ends a deleted device's sessions as unbound and a moved one's as migrated, under the old user", () => {
    const endings = (event: BinlogEvent) => commits(feed(new TransactionAssembler('hi', images), [event, xid()]))[0].endings;
    expect(endings(rows('deleterows', 2, [device]))).toEqual([{ kind: 'device', userId: 7, identifier: 'dev-1', reason: 'unbound' }]);
    expect(endings(rows('updaterows', 2, [{ before: device, after: { ...device, user_id: 9 } }]))).toEqual([
      { kind: 'device', userId: 7, identifier: 'dev-1', reason: 'migrated' },
    ]);
    expect(endings(rows('updaterows', 2, [{ before: device, after: { ...device, name: 'x' } }]))).toEqual([]);
    expect(endings(rows('deleterows', 3, [{ id: 1, phone: '1' }]))).toEqual([]);
  });

  it('clears the tables a statement names (DDL, statement-logged DML) at its commit; one of users or devices holds every session', () => {
    const assembler = new TransactionAssembler('hi', images);
    expect(feed(assembler, [query('BEGIN')])).toEqual([]);
    expect(commits(feed(assembler, [query('TRUNCATE TABLE devices')]))).toEqual([
      { position: at(100), committedAt: 2000, keys: [], tables: ['devices'], endings: [], everySession: true, probe: null, relevant: true },
    ]);
    expect(commits(feed(assembler, [query('TRUNCATE app_users')]))[0]).toMatchObject({ tables: ['app_users'], everySession: true });
    expect(commits(feed(assembler, [query('TRUNCATE oa_users')]))[0]).toMatchObject({ tables: ['oa_users'], everySession: false });
    expect(commits(feed(assembler, [query('TRUNCATE other.devices', 'other')]))[0]).toMatchObject({ tables: [], relevant: false, everySession: false });
  });

  it('a transaction too big to hold its keys clears its tables once committed, still invalidating as rows arrive', () => {
    const assembler = new TransactionAssembler('hi', images, 3);
    const many = [1, 2, 3, 4].map((id) => ({ id, phone: null, email: null, status: 1 }));
    const changes = feed(assembler, [rows('deleterows', 1, many.slice(0, 2)), rows('deleterows', 1, many.slice(2)), xid()]);
    expect(changes.filter((c) => c.kind === 'keys').flatMap((c) => (c as { keys: string[] }).keys)).toHaveLength(4);
    expect(commits(changes)[0]).toMatchObject({ keys: [], tables: ['app_users'], probe: { table: 'app_users', id: 1 } });
    expect(commits(changes)[0].endings).toHaveLength(4);
  });

  it('forgets a half-read transaction when a new stream starts', () => {
    const assembler = new TransactionAssembler('hi', images);
    feed(assembler, [rows('deleterows', 1, [user])]);
    assembler.reset();
    expect(commits(feed(assembler, [xid()]))[0]).toMatchObject({ keys: [], endings: [], relevant: false });
  });
});
