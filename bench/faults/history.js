// What the load did to each (row, field) and what it read back, for two checks:
//  - lost acknowledged writes: the final database value must be one that some write could have
//    left last (an acknowledged write that no acknowledged write started after, or a write whose
//    outcome is unknown);
//  - stale reads after an acknowledged write: a read through the service must return a value that
//    was not yet certainly overwritten when the read started.
// A register is a field of a row: `nickname:{userId}`, `status:{userId}`, `device:{identifier}`
// (the owner's user id, or null once the row is gone). Writes come from the service and from SQL.
'use strict';

/** A write whose value is not known (a device login that failed may have created a guest user). */
const ANY = Symbol('any value');

class History {
  constructor(sqlGraceMs) {
    /** key -> [{value, send, end, acked, path}] in send order */
    this.writes = new Map();
    this.reads = [];
    this.sqlGraceMs = sqlGraceMs;
  }

  /**
   * `outcome`: 'acked' (2xx, or SQL that reported its row), 'unknown' (5xx, connection lost,
   * timed out: it may or may not have happened), 'none' (a definite refusal: nothing happened).
   * A timed-out request may still take effect later, so its end is open.
   */
  write(key, value, send, end, outcome, path) {
    if (outcome === 'none') return;
    if (!this.writes.has(key)) this.writes.set(key, []);
    this.writes.get(key).push({ value, send, end: outcome === 'timeout' ? Infinity : end, acked: outcome === 'acked', path });
  }

  tracked(key) {
    return this.writes.has(key);
  }

  read(key, value, start, end, via) {
    if (this.writes.has(key)) this.reads.push({ key, value, start, end, via });
  }

  /** Writes that may have been the last to take effect. */
  finalCandidates(key) {
    const writes = this.writes.get(key) ?? [];
    // Overwritten: some acknowledged write started after it ended. The latest start is the best witness.
    const latest = Math.max(-Infinity, ...writes.filter((w) => w.acked).map((w) => w.send));
    return writes.filter((w) => w.end >= latest);
  }

  /**
   * Writes whose value a read over [start, end] may return. A write is certainly overwritten once
   * a write that started after it ended was acknowledged before the read started; a write through
   * SQL reaches the cache through change capture, so it counts only `sqlGraceMs` after its
   * acknowledgement (with `sqlOverwrites` false it never does: only the service's own writes).
   */
  readCandidates(key, start, end, sqlOverwrites) {
    const writes = this.writes.get(key) ?? [];
    const visibleAt = (w) => (w.path === 'sql' ? (sqlOverwrites ? w.end + this.sqlGraceMs : Infinity) : w.end);
    let latest = -Infinity;
    for (const o of writes) if (o.acked && visibleAt(o) < start && o.send > latest) latest = o.send;
    return writes.filter((w) => w.send < end && w.end >= latest);
  }

  /** Every final value the writes do not explain. `finalValue(key)` reads the database. */
  lostWrites(finalValues) {
    const lost = [];
    for (const key of this.writes.keys()) {
      const actual = finalValues.get(key);
      const candidates = this.finalCandidates(key);
      if (candidates.some((w) => w.value === ANY || same(w.value, actual))) continue;
      const lastAcked = [...(this.writes.get(key) ?? [])].reverse().find((w) => w.acked);
      lost.push({ key, actual, expected: [...new Set(candidates.map((w) => w.value))], lastAcked });
    }
    return lost;
  }

  /**
   * Reads that returned a value already overwritten: `afterServiceWrite` when an acknowledged
   * write through the service had replaced it (the next read must show it, faults or not), else
   * `afterSql` when only SQL writes acknowledged more than the grace before the read had.
   */
  staleReads() {
    const afterServiceWrite = [];
    const afterSql = [];
    for (const r of this.reads) {
      const explains = (ws) => ws.some((w) => w.value === ANY || same(w.value, r.value));
      if (explains(this.readCandidates(r.key, r.start, r.end, true))) continue;
      const lastAcked = (this.writes.get(r.key) ?? []).filter((w) => w.acked && w.end < r.start).pop();
      const entry = { ...r, lastAcked, expected: [...new Set(this.readCandidates(r.key, r.start, r.end, true).map((w) => w.value))] };
      if (!explains(this.readCandidates(r.key, r.start, r.end, false))) afterServiceWrite.push(entry);
      else afterSql.push(entry);
    }
    return { afterServiceWrite, afterSql };
  }

  get keys() {
    return [...this.writes.keys()];
  }

  counts() {
    let acked = 0;
    let unknown = 0;
    for (const ws of this.writes.values()) {
      for (const w of ws) {
        if (w.send === 0) continue; // the initial value
        if (w.acked) acked += 1;
        else unknown += 1;
      }
    }
    return { registers: this.writes.size, acked, unknown, reads: this.reads.length };
  }
}

function same(a, b) {
  return (a ?? null) === (b ?? null) || (a != null && b != null && String(a) === String(b));
}

module.exports = { History, ANY };
