// FAULTS_SELFTEST=1: once the load has stopped, plant what each final check must catch, by
// changing rows with the binlog off for one connection (`SET sql_log_bin = 0`), which change
// capture cannot see. A self-test run must then report a lost acknowledged write, a stale entry
// at the audit, a disagreement that never ends, a zombie session, a zombie token and a zombie
// socket: that shows the checks bite (a run that reports zeros is not blind).
'use strict';
const mysql = require('mysql2/promise');
const { sleep } = require('./infra');

async function plant({ load, db, dbName, log }) {
  const conn = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: dbName });
  const planted = [];
  try {
    await conn.query('SET SESSION sql_log_bin = 0');

    // A nickname changed behind change capture's back, after its row was cached by a GET /me:
    // the last acknowledged PATCH /me is lost and the cached row is stale for good.
    const user = load.byGroup.nickSvc.find((u) => load.devices.get(u.home).token);
    const own = load.devices.get(user.home);
    await load.request('GET /me (self-test)', 'GET', '/me', undefined, own.token);
    await conn.query("UPDATE app_users SET nickname = 'selftest-planted' WHERE id = ?", [user.id]);
    load.touch([`cache:appUsers:id:${user.id}`]);
    planted.push(`nickname of user ${user.id} set to 'selftest-planted' with the binlog off (a lost write, a stale cached row)`);

    // A device with a live session and a socket, moved to another user behind change capture's
    // back: its session, token and socket are zombies.
    for (const dev of load.liveTokenDevices()) {
      const r = await load.request('GET /me (self-test)', 'GET', '/me', undefined, dev.token);
      if (!r.ok) continue;
      const slot = load.upSlots()[0];
      await load.connectSocket(slot, dev);
      const to = load.hubs.find((h) => h.id !== dev.tokenUserId);
      await conn.query('UPDATE devices SET user_id = ? WHERE identifier = ?', [to.id, dev.identifier]);
      planted.push(
        `device ${dev.identifier} (session and socket of user ${dev.tokenUserId}) moved to user ${to.id} with the binlog off (a zombie session, token and socket)`,
      );
      break;
    }
  } finally {
    await conn.end();
  }
  planted.forEach((p) => log(`self-test: ${p}`));
  await sleep(100);
  return planted;
}

module.exports = { plant };
