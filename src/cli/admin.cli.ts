import type { INestApplicationContext } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Command } from 'commander';
import { IsPassword, PHONE_PATTERN, PHONE_RULE } from '../common/validation';
import { AppConfig, ConfigError, loadConfig } from '../config/app-config';
import type { RedisClient } from '../redis/redis-client';
import { CliIo, processIo } from './cli-io';
import { addHelpCommand, outputTo, runProgram } from './run-program';

/**
 * `npm run admin -- create PHONE [--name NAME] [--reset]`: the first admin (or a locked-out one)
 * from the command line, straight against MySQL and Redis with no running server needed.
 * The password comes from ADMIN_PASSWORD, never from the command line, which `ps` shows.
 * Exit status as for `npm run cache`: 0 success, 1 failure (MySQL or Redis unreachable), 2 usage error.
 */

class UsageError extends Error {}

/** The rule of every other password: the DTOs' and ADMIN_PASSWORD's at start-up (8-128 characters). */
class PasswordInput {
  @IsPassword() password: string;
}

function parsePhone(value: string): string {
  if (!PHONE_PATTERN.test(value)) throw new UsageError(`phone ${PHONE_RULE}: ${JSON.stringify(value)}`);
  return value;
}

function parseName(value: string | undefined): string | undefined {
  if (value !== undefined && (value.length < 1 || value.length > 64)) throw new UsageError('--name must be 1-64 characters');
  return value;
}

function parsePassword(value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError('set the password in the environment variable ADMIN_PASSWORD (never on the command line)');
  const errors = validateSync(plainToInstance(PasswordInput, { password: value }));
  if (errors.length) throw new UsageError('ADMIN_PASSWORD must be 8-128 characters');
  return value;
}

/** The server's settings without ADMIN_PHONE/ADMIN_PASSWORD, which mean something else here. */
function cliConfig(env: CliIo['env']): AppConfig {
  return loadConfig({ ...env, ADMIN_PHONE: undefined, ADMIN_PASSWORD: undefined });
}

/**
 * The few modules staff users need: config, Redis, MySQL (with the cache subscriber), staff.
 * The Redis client is the command's own, connected before Nest starts and closed after it, like
 * `npm run cache`'s: Nest closes what it opened only once it has started, so a start that fails
 * (MySQL unreachable) would leave an already connected client open, holding the process.
 */
async function withStaff<T>(config: AppConfig, work: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  // Loaded here so that a usage error answers without loading Nest, TypeORM and ioredis.
  const [
    { Global, Module },
    { NestFactory },
    { EventEmitterModule },
    { TypeOrmModule },
    { ConfigModule },
    { REDIS_CLIENT },
    { closeRedis, connectRedis, describeRedis },
    { DatabaseModule },
    { CacheModule },
    { SessionModule },
    ...staff
  ] = await Promise.all([
    import('@nestjs/common'),
    import('@nestjs/core'),
    import('@nestjs/event-emitter'),
    import('@nestjs/typeorm'),
    import('../config/config.module'),
    import('../redis/redis.constants'),
    import('../redis/redis.factory'),
    import('../database/database.module'),
    import('../cache/cache.module'),
    import('../session/session.module'),
    import('../oa-user/oa-user.entity'),
    import('../oa-user/oa-user.repository'),
    import('../oa-user/oa-user.service'),
    import('../oa-user/staff-session.service'),
  ]);
  const [{ OaUser }, { OaUserRepository }, { OaUserService }, { StaffSessionService }] = staff;

  let redis: RedisClient;
  try {
    redis = await connectRedis(config, 'hi-admin-cli', { once: true });
  } catch (err) {
    throw new Error(`Redis at ${describeRedis(config)} is unreachable: ${(err as Error).message}`, { cause: err });
  }
  try {
    // RedisModule without its connection watch, over the command's own client.
    @Global()
    @Module({ providers: [{ provide: REDIS_CLIENT, useValue: redis }], exports: [REDIS_CLIENT] })
    class AdminCliRedisModule {}
    // OaUserModule's providers without its controllers, whose guards want the HTTP stack.
    @Module({
      imports: [
        ConfigModule.forRoot(config),
        EventEmitterModule.forRoot(),
        AdminCliRedisModule,
        DatabaseModule,
        CacheModule,
        TypeOrmModule.forFeature([OaUser]),
        SessionModule,
      ],
      providers: [OaUserRepository, OaUserService, StaffSessionService],
    })
    class AdminCliModule {}
    const app = await NestFactory.createApplicationContext(AdminCliModule, { logger: false, abortOnError: false });
    try {
      return await work(app);
    } finally {
      // Before Redis: shutdown hooks (the outboxes) may still use it.
      await app.close().catch(() => undefined);
    }
  } finally {
    await closeRedis(redis);
  }
}

function buildProgram(io: CliIo): Command {
  const { env } = io;
  const program = outputTo(new Command('admin').description('Staff users straight against MySQL and Redis; the password is read from ADMIN_PASSWORD'), io);

  program
    .command('create')
    .description('create an admin staff user if the phone is new ("created"), else print "exists"; --reset makes it an active admin with this password')
    .argument('<phone>')
    .option('--name <name>', 'the name of a new admin (default "admin"); with --reset, the new name')
    .option('--reset', 'an existing staff user of the phone gets the password, role admin, status active; its staff sessions are revoked', false)
    .action(async (phoneArg: string, opts: { name?: string; reset: boolean }) => {
      const phone = parsePhone(phoneArg);
      const name = parseName(opts.name);
      const password = parsePassword(env.ADMIN_PASSWORD);
      const config = cliConfig(env);
      const result = await withStaff(config, async (app) => {
        const { OaUserService } = await import('../oa-user/oa-user.service');
        return app.get(OaUserService).ensureAdmin(phone, password, { name, reset: opts.reset });
      });
      io.stdout.write(`${result}\n`);
    });

  return addHelpCommand(program);
}

/** Runs one command line and answers its exit status; never calls process.exit itself. */
export async function runAdminCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runProgram(buildProgram(io), argv, io, [UsageError, ConfigError]);
}

if (require.main === module) {
  // Exits explicitly: an ioredis client whose connection failed keeps a 2 s timer to destroy its
  // dead socket, and the answer is known by then.
  void runAdminCli(process.argv.slice(2)).then((code) => process.exit(code));
}
