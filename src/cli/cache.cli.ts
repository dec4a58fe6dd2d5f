import { Command, Option } from 'commander';
import { BULK_SCAN_COUNT, CacheAdmin } from '../admin/cache-admin';
import {
  CLEAR_SCOPES,
  ID_SCOPES,
  InvalidInputError,
  parseBatch,
  parseCount,
  parseCursor,
  parseId,
  parseIdScope,
  parsePhone,
  parseScope,
} from '../admin/cache-admin.inputs';
import { AppConfig, ConfigError, loadConfig } from '../config/app-config';
import type { RedisClient } from '../redis/redis-client';
import { connectRedis, describeRedis, redisTarget } from '../redis/redis.factory';
import { ProgressReporter } from './progress-reporter';
import { CliIo, processIo } from './cli-io';
import { addHelpCommand, outputTo, runProgram } from './run-program';

/** CONTRACT section 7: 0 success, 1 failure (e.g. Redis unreachable), 2 usage error. */

class Failure extends Error {}

interface Output {
  json: boolean;
  print(human: string, data: unknown): void;
}

function output(json: boolean, io: CliIo): Output {
  return { json, print: (human, data) => io.stdout.write(`${json ? JSON.stringify(data) : human}\n`) };
}

/** One client that fails at once instead of retrying: an operator wants an answer, not a hang. */
async function withRedis<T>(config: AppConfig, work: (redis: RedisClient) => Promise<T>): Promise<T> {
  let redis: RedisClient;
  try {
    redis = await connectRedis(config, 'hi-cache-cli', { once: true });
  } catch (err) {
    throw new Failure(`Redis at ${describeRedis(config)} is unreachable: ${(err as Error).message}`);
  }
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

function adminOf(redis: RedisClient, config: AppConfig): CacheAdmin {
  return new CacheAdmin(redis, redisTarget(config));
}

function buildProgram(io: CliIo, config: () => AppConfig, out: () => Output, progressEvery: () => number): Command {
  const program = outputTo(
    new Command('cache')
      .description('Cache administration straight against Redis (the verbs of the old clear_user_cache.sh)')
      .option('--json', 'print the answer as one line of JSON')
      .addOption(new Option('--progress-interval <ms>', 'ms between progress lines when stderr is not a terminal').default('1000').hideHelp()),
    io,
  );

  const scopeOption = (scopes: readonly string[]) => new Option('--scope <scope>', 'which cache family').choices(scopes as string[]).default('all');

  program
    .command('all')
    .description('delete every key of a scope (SCAN + UNLINK in batches; sessions are never touched)')
    .addOption(scopeOption(CLEAR_SCOPES))
    .option('--batch <keys>', 'SCAN COUNT per step: smaller is gentler on other clients, larger is faster', String(BULK_SCAN_COUNT))
    .action(async (opts: { scope: string; batch: string }) => {
      const scope = parseScope(opts.scope);
      const batch = parseBatch(opts.batch);
      const cfg = config();
      await withRedis(cfg, async (redis) => {
        const progress = new ProgressReporter(`clear ${scope}`, io.stderr, progressEvery());
        const result = await adminOf(redis, cfg).clearScope(scope, (p) => progress.update({ fraction: p.fraction, detail: `deleted ${p.deleted}` }), { batch });
        progress.finish({ fraction: 1, detail: `deleted ${result.deleted}` });
        out().print(`deleted ${result.deleted} key(s) of scope ${scope} in ${result.ms} ms`, result);
      });
    });

  program
    .command('phone')
    .description('delete the AppUser and OaUser index keys of a phone and the rows they point at')
    .argument('<phone>')
    .action(async (phoneArg: string) => {
      const phone = parsePhone(phoneArg);
      const cfg = config();
      await withRedis(cfg, async (redis) => {
        const { deleted } = await adminOf(redis, cfg).clearPhone(phone);
        out().print(deleted.length ? deleted.join('\n') + `\ndeleted ${deleted.length} key(s)` : 'deleted 0 key(s)', { phone, deleted });
      });
    });

  program
    .command('id')
    .description('delete the row key of an id and the index keys its cached row names')
    .argument('<id>')
    .addOption(scopeOption(ID_SCOPES))
    .action(async (idArg: string, opts: { scope: string }) => {
      const id = parseId(idArg);
      const scope = parseIdScope(opts.scope);
      const cfg = config();
      await withRedis(cfg, async (redis) => {
        const { deleted } = await adminOf(redis, cfg).clearId(id, scope);
        out().print(deleted.length ? deleted.join('\n') + `\ndeleted ${deleted.length} key(s)` : 'deleted 0 key(s)', { id, scope, deleted });
      });
    });

  program
    .command('list')
    .description('one page of keys from a cursor, the next cursor, and counts per scope')
    .addOption(scopeOption(CLEAR_SCOPES))
    .option('--cursor <cursor>', 'SCAN cursor from the previous page', '0')
    .option('--count <count>', 'about how many keys', '100')
    .action(async (opts: { scope: string; cursor: string; count: string }) => {
      const query = { scope: parseScope(opts.scope), cursor: parseCursor(opts.cursor), count: parseCount(opts.count) };
      const cfg = config();
      await withRedis(cfg, async (redis) => {
        const page = await adminOf(redis, cfg).listKeys(query);
        const counts = Object.entries(page.counts)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        out().print([...page.keys, `next cursor: ${page.cursor}`, `counts: ${counts}`].join('\n'), page);
      });
    });

  program
    .command('test')
    .description('check that Redis answers: host, port, db, round trip, version; on a cluster its state')
    .action(async () => {
      const cfg = config();
      const health = await withRedis(cfg, (redis) => adminOf(redis, cfg).health());
      if (!health.reachable) throw new Failure(`Redis at ${describeRedis(cfg)} did not answer: ${health.error ?? `cluster state ${health.cluster?.state}`}`);
      const cluster = health.cluster
        ? `, cluster ${health.cluster.state}: ${health.cluster.mastersAnswering} of ${health.cluster.masters} masters answer, ${health.cluster.slotsOk} slots ok`
        : '';
      out().print(`Redis ${health.version} at ${describeRedis(cfg)} answered in ${health.roundTripMs} ms${cluster}`, health);
    });

  program
    .command('audit')
    .description('compare cached rows and index keys with the database; --repair deletes the stale ones')
    .addOption(scopeOption(CLEAR_SCOPES))
    .option('--repair', 'delete every stale entry found', false)
    .action(async (opts: { scope: string; repair: boolean }) => {
      const scope = parseScope(opts.scope);
      const cfg = config();
      // Loaded here so that the other verbs start without TypeORM.
      const [{ DataSource }, { dataSourceOptions }, { CacheAudit }] = await Promise.all([
        import('typeorm'),
        import('../database/data-source-options'),
        import('../admin/cache-audit'),
      ]);
      const db = new DataSource({ ...dataSourceOptions(cfg), extra: { connectionLimit: 2 } });
      try {
        await db.initialize();
      } catch (err) {
        throw new Failure(`MySQL at ${cfg.DB_HOST}:${cfg.DB_PORT}/${cfg.DB_NAME} is unreachable: ${(err as Error).message}`);
      }
      try {
        await withRedis(cfg, async (redis) => {
          const progress = new ProgressReporter(`audit ${scope}`, io.stderr, progressEvery());
          const report = await new CacheAudit(redis, db).run({
            scope,
            repair: opts.repair,
            onProgress: (p) => progress.update({ fraction: p.fraction, detail: `${p.scanned} checked, ${p.stale} stale` }),
          });
          progress.finish({ fraction: 1, detail: `${report.scanned} checked, ${report.stale.length} stale` });
          const lines = report.stale.map((s) => `${s.reason}\t${s.key}\t${s.detail}`);
          lines.push(`checked ${report.scanned} key(s) of scope ${scope}: ${report.stale.length} stale` + (opts.repair ? `, ${report.repaired} deleted` : ''));
          out().print(lines.join('\n'), report);
        });
      } finally {
        await db.destroy().catch(() => undefined);
      }
    });

  return addHelpCommand(program);
}

/** Runs one command line and answers its exit status; never calls process.exit itself. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let cached: AppConfig | undefined;
  const config = () => (cached ??= loadConfig(io.env));
  const program = buildProgram(
    io,
    config,
    () => output(Boolean(program.opts().json), io),
    () => Number(program.opts().progressInterval) || 0,
  );
  return runProgram(program, argv, io, [InvalidInputError, ConfigError]);
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
