// Worker thread of cache-clear.bench.js: a second client doing GETs back to back on its own
// connection, recording each round trip, until the main thread says stop.
'use strict';
const { parentPort, workerData } = require('worker_threads');
const Redis = require('ioredis');

(async () => {
  const redis = new Redis({ host: '127.0.0.1', port: workerData.port, lazyConnect: true });
  await redis.connect();
  let stop = false;
  parentPort.on('message', (m) => {
    if (m === 'stop') stop = true;
  });
  const samples = [];
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  parentPort.postMessage('ready');
  let i = 0;
  while (!stop) {
    const started = process.hrtime.bigint();
    await redis.get(`session:${i++ % workerData.keys}`);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    // A busy client, not a spinning one: about one GET every PACE_MS, sleeping in between
    // without taking a CPU from Redis or the clear on a small machine.
    Atomics.wait(sleeper, 0, 0, workerData.paceMs);
    if ((i & 63) === 0) await new Promise(setImmediate); // let the stop message in
  }
  await redis.quit();
  parentPort.postMessage(samples);
})();
