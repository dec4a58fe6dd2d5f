// `npm run bench`: runs every bench/*.bench.js one after another (never in parallel, so that
// each has the machine to itself) and prints their markdown sections; the figures of record are
// copied into bench/RESULTS.md by hand with the date and machine.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const only = process.argv.slice(2);
const files = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((name) => f.includes(name)))
  .sort();

let failed = 0;
const out = [`# hi-server benchmarks, ${new Date().toISOString()}`, ''];
for (const file of files) {
  process.stderr.write(`== ${file}\n`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(__dirname, file)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 15 * 60 * 1000 });
  process.stdout.write(result.stdout ?? '');
  out.push(result.stdout ?? '', '');
  if (result.status !== 0) {
    failed += 1;
    process.stderr.write(`!! ${file} failed (status ${result.status}, ${Math.round((Date.now() - started) / 1000)} s)\n`);
  }
}
fs.mkdirSync(path.join(__dirname, '.out'), { recursive: true });
fs.writeFileSync(path.join(__dirname, '.out', 'latest.md'), out.join('\n'));
process.exit(failed === 0 ? 0 : 1);
