// The markdown section of a fault run.
'use strict';
const { longestOutside, overlapsWindow } = require('./schedule');
const { ANY } = require('./history');

const s = (ms) => (ms / 1000).toFixed(1);
const mark = (n) => (n === 0 ? '0 ✓' : `**${n}** ✗`);
const show = (v) => (v === ANY ? 'any' : JSON.stringify(v));

function report(r) {
  const { config, loadStart, windows, load, history, sampler, watcher, audit, lost, sessions, tokens, sockets } = r;
  const at = (t) => s(t - loadStart);
  const outside = (start, end = start) => !overlapsWindow(start, end, windows, config.marginMs);

  // Sampled disagreements, their observed lengths, and the longest stretch outside fault windows.
  const dis = sampler.closed.map((d) => ({ ...d, ms: d.end - d.start, outsideMs: longestOutside(d.start, d.end, windows, config.marginMs) }));
  const over = (list, ms, field) => list.filter((d) => d[field] > ms);
  const zom = watcher.closed.map((z) => ({ ...z, ms: z.end - z.start, outsideMs: longestOutside(z.start, z.end, windows, config.marginMs) }));
  const zSessions = zom.filter((z) => z.what === 'session');
  const zSockets = zom.filter((z) => z.what === 'socket');
  const stale = history.staleReads();
  const afterSvcOutside = stale.afterServiceWrite.filter((x) => outside(x.start, x.end));
  const afterSqlOutside = stale.afterSql.filter((x) => outside(x.start, x.end));
  const unexpected = load.failures.filter((f) => !overlapsWindow(f.start, f.end, windows, config.marginMs));
  const counts = history.counts();
  const auditStale = audit.report.stale ?? [];

  const out = [];
  const p = (...lines) => out.push(...lines);
  p(`## Fault injection run (issue 11, \`npm run faults\`), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
  p(
    `${config.seconds} s of load, then a drain (change capture caught up${r.drained.ok ? '' : ' **not reached**'}, outbox empty, ${s(config.drainMs)} s for socket sweeps) and the final checks. ` +
      `Two server processes (\`dist/main.js\`, \`CDC_MODE=binlog\`, \`CDC_HEARTBEAT_SECONDS=${config.heartbeat}\`) on a MariaDB ${r.versions.mariadb} with the binlog on and a redis-server ${r.versions.redis} ` +
      `(\`appendfsync ${config.fsync}\`), all the run's own; Node ${r.versions.node}. Load: ${config.readers} readers, one writer each for PATCH /me, admin PATCH status, hand-written SQL on users, ` +
      `device logins of users whose status flips, devices moved and unbound through the service, ${config.racers} racers moving or deleting devices by SQL while a device login of the same device runs (the statement 4 ms before to 12 ms after the login), ` +
      `and a socket keeper holding about 24 Socket.IO connections. Users: ${Object.entries(r.groups)
        .map(([g, n]) => `${n} ${g}`)
        .join(', ')}; devices: one per user, ${r.roam.svc} moved by the service, ${r.roam.sql} by SQL. ` +
      `Fault windows run from the injection to the recovery of what was broken, plus a margin of ${s(config.marginMs)} s.`,
    '',
  );

  if (r.planted.length > 0)
    p(
      `**Self-test run (FAULTS_SELFTEST=1)**: after the load, planted with the binlog off: ${r.planted.join('; ')}. Every check below except the operations must show them.`,
      '',
    );
  p('| figure | result | promise |', '|---|---|---|');
  p(
    `| sampled cache-vs-MySQL checks | ${sampler.checks} (${dis.length} disagreements seen, ${over(dis, 1000, 'ms').length} over 1 s and ${over(dis, 3000, 'ms').length} over 3 s counting fault windows) | |`,
  );
  p(`| disagreements lasting over 1 s outside fault windows | ${mark(over(dis, 1000, 'outsideMs').length)} | 0 |`);
  p(`| disagreements lasting over 3 s outside fault windows | ${mark(over(dis, 3000, 'outsideMs').length)} | 0 |`);
  p(`| stale entries at the final full audit (\`cache audit\`, ${audit.report.scanned} keys) | ${mark(auditStale.length)} | 0 |`);
  p(
    `| lost acknowledged writes (${counts.registers} fields, ${counts.acked} acknowledged writes, ${counts.unknown} of unknown outcome) | ${mark(lost.length)} | 0 |`,
  );
  p(
    `| stale reads after an acknowledged service write (${counts.reads} reads checked; outside fault windows: ${afterSvcOutside.length}) | ${mark(stale.afterServiceWrite.length)} | 0 |`,
  );
  p(`| reads showing a value SQL replaced over ${s(config.sqlGraceMs)} s before, outside fault windows | ${mark(afterSqlOutside.length)} | 0 |`);
  p(
    `| zombie sessions seen during the run (${watcher.sessionChecks} session checks in ${watcher.ticks} scans): lasting over 1 s outside fault windows | ${mark(over(zSessions, 1000, 'outsideMs').length)} | 0 |`,
  );
  p(
    `| the same, lasting over 3 s outside fault windows (counting fault windows: ${over(zSessions, 1000, 'ms').length} over 1 s, ${over(zSessions, 3000, 'ms').length} over 3 s) | ${mark(over(zSessions, 3000, 'outsideMs').length)} | 0 |`,
  );
  p(
    `| zombie sockets seen during the run (${watcher.socketChecks} socket checks): connected over 1 s / over 3 s outside fault windows after their session ended | ${mark(over(zSockets, 1000, 'outsideMs').length)} / ${mark(over(zSockets, 3000, 'outsideMs').length)} | 0 / 0 |`,
  );
  p(`| zombie sessions in Redis at the end (of ${sessions.sessions} sessions) | ${mark(sessions.zombies.length)} | 0 |`);
  p(
    `| zombie tokens: GET /me 200 though the database ended the session (${tokens.tried} of ${tokens.held} tokens tried, ${tokens.answered200} answered 200) | ${mark(tokens.zombies.length)} | 0 |`,
  );
  p(`| zombie sockets at the end (of ${sockets.connected} still connected) | ${mark(sockets.zombies.length)} | 0 |`);
  p(`| answers other than 2xx/4xx outside fault windows | ${mark(unexpected.length)} | 0 |`);
  p('');

  p('Faults:', '', '| # | fault | at s | window s | what happened |', '|---:|---|---:|---:|---|');
  windows.forEach((w, i) => p(`| ${i + 1} | ${w.kind} | ${at(w.start)} | ${s(w.end - w.start)} | ${w.detail} |`));
  const takeovers = windows.filter((w) => w.takeoverMs != null).map((w) => s(w.takeoverMs));
  const reconnects = windows.filter((w) => w.reconnectMs != null).map((w) => s(w.reconnectMs));
  if (takeovers.length || reconnects.length) {
    p(
      '',
      `Leader takeover after its SIGKILL (to the new leader reporting itself connected): ${takeovers.join(', ') || '-'} s. New binlog connection after the KILL: ${reconnects.join(', ') || '-'} s.`,
    );
  }
  p('');

  p(
    'Operations (4xx answers by HTTP status / business code; 401s are expected: sessions end as devices move, users are disabled and tokens are replaced; for SQL, 2xx is a statement that matched its row and 404/0 rows one that did not, or an INSERT IGNORE of a device already there):',
    '',
  );
  p('| operation | total | 2xx | 503 | 4xx | connection error / timeout | other |', '|---|---:|---:|---:|---|---:|---:|');
  let total = 0;
  for (const [kind, c] of [...load.ops.entries()].sort()) {
    const n = Object.values(c).reduce((a, b) => a + b, 0);
    total += n;
    const fours = Object.entries(c)
      .filter(([k]) => /^4\d\d/.test(k))
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
    const conn = (c['connection error'] ?? 0) + (c.timeout ?? 0) + (c['no server up'] ?? 0);
    const known =
      (c['2xx'] ?? 0) +
      (c['503'] ?? 0) +
      conn +
      Object.entries(c)
        .filter(([k]) => /^4\d\d/.test(k))
        .reduce((a, [, v]) => a + v, 0);
    const other = Object.entries(c)
      .filter(([k]) => !/^(2xx|503|4\d\d|connection error|timeout|no server up)/.test(k))
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
    p(`| ${kind} | ${n} | ${c['2xx'] ?? 0} | ${c['503'] ?? 0} | ${fours || 0} | ${conn} | ${n - known === 0 ? 0 : other} |`);
  }
  p(`| **all** | ${total} | | | | | |`, '');
  const ss = load.socketStats;
  const kv = (o) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ') || 'none';
  p(`Sockets: ${ss.connects} connected; refused: ${kv(ss.refused)}; kicked: ${kv(ss.kicked)}; disconnects: ${kv(ss.disconnects)}.`);
  p(
    `Sampler: ${sampler.ticks} ticks of ~${sampler.perTick} keys (half of them rows written in the last 3 s), ${sampler.skippedTicks} skipped while Redis did not answer. Server starts: ${r.servers.map((x) => `${x.name} ${x.starts}`).join(', ')}.`,
    '',
  );

  const list = (title, items, fmt, limit = 10) => {
    if (items.length === 0) return;
    p(`${title} (${items.length}${items.length > limit ? `, first ${limit}` : ''}):`, '');
    items.slice(0, limit).forEach((x) => p(`- ${fmt(x)}`));
    p('');
  };
  list(
    'Disagreements over 1 s outside fault windows',
    over(dis, 1000, 'outsideMs'),
    (d) =>
      `\`${d.key}\` from ${at(d.start)} s for ${s(d.ms)} s (${s(d.outsideMs)} s outside windows${d.resolved ? '' : ', still open at the end'}): ${d.detail}`,
  );
  list('Stale entries at the audit', auditStale, (e) => `\`${e.key}\` ${e.reason}: ${e.detail}`);
  list(
    'Lost acknowledged writes',
    lost,
    (l) =>
      `\`${l.key}\`: MySQL has ${show(l.actual)}, the writes allow ${l.expected.map(show).join(' or ')} (last acknowledged: ${show(l.lastAcked?.value)} by ${l.lastAcked?.path} at ${at(l.lastAcked?.end ?? 0)} s)`,
  );
  const acked = (w) => (w ? `; last acknowledged before it: ${show(w.value)} by ${w.path} at ${at(w.end)} s` : '');
  list(
    'Stale reads after an acknowledged service write',
    stale.afterServiceWrite,
    (x) =>
      `\`${x.key}\` read ${show(x.value)} by ${x.via} at ${at(x.start)} s${outside(x.start, x.end) ? '' : ' (in a fault window)'}; expected ${x.expected.map(show).join(' or ')}${acked(x.lastAcked)}`,
  );
  list(
    'Reads of a value SQL had replaced, outside fault windows',
    afterSqlOutside,
    (x) => `\`${x.key}\` read ${show(x.value)} by ${x.via} at ${at(x.start)} s; expected ${x.expected.map(show).join(' or ')}${acked(x.lastAcked)}`,
  );
  const zfmt = (z) =>
    `${z.key}, user ${z.userId}, device ${z.identifier}, from ${at(z.start)} s for ${s(z.ms)} s (${s(z.outsideMs)} s outside windows${z.resolved ? '' : ', still there at the end'}): ${z.why}`;
  const causes = (list) => {
    const by = {};
    list.forEach((z) => {
      const cause = /^device belongs/.test(z.why) ? 'device moved to another user' : z.why;
      by[cause] = (by[cause] ?? 0) + 1;
    });
    return Object.entries(by)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
  };
  if (over(zSessions, 1000, 'outsideMs').length > 0)
    p(`Zombie sessions over 1 s outside fault windows by cause: ${causes(over(zSessions, 1000, 'outsideMs'))}.`, '');
  list('Zombie sessions seen during the run, over 1 s outside fault windows', over(zSessions, 1000, 'outsideMs'), zfmt);
  list('Zombie sockets seen during the run, over 1 s outside fault windows', over(zSockets, 1000, 'outsideMs'), zfmt);
  list(
    'Zombie sessions at the end',
    sessions.zombies,
    (z) => `\`${z.key}\` user ${z.userId}, device ${z.identifier}, issued at ${new Date(z.issuedAt).toISOString()}: ${z.why}`,
  );
  list('Zombie tokens at the end', tokens.zombies, (z) => `device ${z.identifier}, user ${z.userId}: ${z.why}`);
  list('Zombie sockets at the end', sockets.zombies, (z) => `device ${z.identifier}, user ${z.userId} on ${z.server}: ${z.why}`);
  list('Answers other than 2xx/4xx outside fault windows', unexpected, (f) => `${f.kind}: ${f.cls} at ${at(f.start)}-${at(f.end)} s (${f.detail ?? ''})`, 20);
  if (load.harnessErrors.length) list('Harness errors', load.harnessErrors, (e) => e.split('\n')[0]);
  const details = {
    windows,
    disagreements: dis,
    staleReads: stale,
    lost,
    zombiesDuringRun: zom.filter((z) => z.ms > 1000),
    zombiesAtEnd: { sessions: sessions.zombies, tokens: tokens.zombies, sockets: sockets.zombies },
    auditStale,
    failures: load.failures,
    harnessErrors: load.harnessErrors,
  };
  return { markdown: out.join('\n') + '\n', details: JSON.stringify(details, (k, v) => (v === ANY ? 'any' : v === Infinity ? 'open' : v), 1) };
}

module.exports = { report };
