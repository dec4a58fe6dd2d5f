// GET /me with cache hits (session lookup included) against GET /health/live, the framework's
// own ceiling on this machine, and GET /me with the cache bypassed; measured side by side in one
// run, interleaved in rounds (each starting with another endpoint) so that drift hits all three alike.
'use strict';
const autocannon = require('autocannon');
const { createWorld, post } = require('./lib');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 50;

function run(url, path, token) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${url}${path}`, connections: CONNECTIONS, duration: SECONDS, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (err, result) => {
        if (err) return reject(err);
        if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`));
        resolve(result.requests.average);
      },
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const world = await createWorld('api');
  try {
    const cached = await world.start();
    const bypass = await world.start({ CACHE_BYPASS: '1' });
    const phone = `1${Date.now().toString().slice(-10)}`;
    const reg = await post(cached.url, '/auth/register', { phone, password: 'bench-password', identifier: 'bench-device' });
    if (reg.status !== 201) throw new Error(`register: ${JSON.stringify(reg.body)}`);
    const token = reg.body.data.token;
    await fetch(`${cached.url}/me`, { headers: { authorization: `Bearer ${token}` } });

    const live = [];
    const me = [];
    const meBypass = [];
    const measures = [
      async () => live.push(await run(cached.url, '/health/live')),
      async () => me.push(await run(cached.url, '/me', token)),
      async () => meBypass.push(await run(bypass.url, '/me', token)),
    ];
    // Warm-up, not counted: the first seconds of a fresh process run far below its steady state.
    for (const measure of measures) await measure();
    live.length = me.length = meBypass.length = 0;
    // Each round starts with another endpoint, so warm-up and drift do not favour one of them.
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let i = 0; i < measures.length; i += 1) await measures[(round + i) % measures.length]();
    }
    const [l, m, b] = [median(live), median(me), median(meBypass)];
    console.log('## GET /me against the framework ceiling (bench/api.bench.js)');
    console.log('');
    console.log(`${ROUNDS} interleaved rounds of ${SECONDS} s, ${CONNECTIONS} connections, one server process each; medians of requests/s.`);
    console.log('');
    console.log('| endpoint | req/s | ratio to /health/live |');
    console.log('|---|---:|---:|');
    console.log(`| GET /health/live | ${l.toFixed(0)} | 1.00 |`);
    console.log(`| GET /me, cache hits | ${m.toFixed(0)} | ${(m / l).toFixed(2)} (target >= 0.80) |`);
    console.log(`| GET /me, CACHE_BYPASS=1 | ${b.toFixed(0)} | ${(b / l).toFixed(2)} |`);
    console.log('');
    console.log(`Rounds (req/s): /health/live ${live.map(Math.round).join(', ')}; /me ${me.map(Math.round).join(', ')}; bypassed ${meBypass.map(Math.round).join(', ')}.`);
    console.log(`Cache hits serve ${(m / b).toFixed(2)}x the requests of the bypassed path.`);
  } finally {
    await world.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
