import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  validateSync,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { isIP } from 'net';

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

@ValidatorConstraint({ name: 'trustProxy' })
class TrustProxyRule implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    if (/^(true|false|\d+)$/.test(value)) return true;
    return value.split(',').every((part) => {
      const [address, bits, extra] = part.trim().split('/');
      if (extra !== undefined) return false;
      if (PROXY_NAMES.has(address) && bits === undefined) return true;
      const family = isIP(address);
      return family !== 0 && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)));
    });
  }

  defaultMessage(): string {
    return 'TRUST_PROXY must be true, a hop count, or a comma list of addresses, CIDR ranges, loopback, linklocal or uniquelocal';
  }
}

@ValidatorConstraint({ name: 'idleTimeout' })
class IdleTimeoutRule implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return value === 0 || (typeof value === 'number' && value >= 2);
  }

  defaultMessage(): string {
    return 'SESSION_IDLE_SECONDS must be 0 (no idle timeout) or at least 2';
  }
}

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value);
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * Every setting of CONTRACT section 8, read once from the environment and validated.
 * Property names are the variable names so that an error message names the variable.
 */
export class AppConfig {
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT = 3000;

  @IsString() @MinLength(1) DB_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) DB_PORT = 3306;
  @IsString() @MinLength(1) DB_USER = 'root';
  @IsString() DB_PASSWORD = '';
  @Matches(/^[A-Za-z0-9_]{1,64}$/, { message: 'DB_NAME must be 1-64 letters, digits or underscores' })
  DB_NAME = 'hi';
  @Transform(toInt) @IsInt() @Min(2) @Max(500) DB_POOL_SIZE = 20;

  @IsString() @MinLength(1) REDIS_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) REDIS_PORT = 6379;
  @Transform(toInt) @IsInt() @Min(0) @Max(255) REDIS_DB = 0;
  @Transform(emptyToUndefined) @IsOptional() @IsString() REDIS_PASSWORD?: string = undefined;
  /**
   * A Redis Cluster instead of the one server: a comma list of `host:port` of some of its nodes
   * (any will do; the client learns the rest). REDIS_HOST, REDIS_PORT and REDIS_DB are then unused.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, { message: 'REDIS_CLUSTER_NODES must be a comma list of host:port' })
  REDIS_CLUSTER_NODES?: string = undefined;

  @Transform(toInt) @IsInt() @Min(1) CACHE_TTL_SECONDS = 3600;
  @Transform(toInt) @IsInt() @Min(60) SESSION_TTL_SECONDS = 2592000;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\d{5,20}$/, { message: 'ADMIN_PHONE must be 5-20 digits' })
  ADMIN_PHONE?: string = undefined;
  @Transform(emptyToUndefined) @IsOptional() @IsString() @MinLength(8) @MaxLength(128) ADMIN_PASSWORD?: string = undefined;

  @IsIn(['off', 'binlog']) CDC_MODE: 'off' | 'binlog' = 'off';
  @Transform(emptyToUndefined) @IsOptional() @IsString() CDC_USER?: string = undefined;
  @Transform(emptyToUndefined) @IsOptional() @IsString() CDC_PASSWORD?: string = undefined;
  @Transform(toInt) @IsInt() @Min(1) @Max(4294967295) CDC_SERVER_ID = 4242;
  /** Seconds between checks of a silent binlog stream, of the leader lock, and of lag; standbys retry as often. */
  @Transform(toInt) @IsInt() @Min(1) @Max(3600) CDC_HEARTBEAT_SECONDS = 5;

  /** Requests per client address to every rate-limited route together (/auth/*, /oa/auth/*, /me/email/*, /me/password). */
  @Transform(toInt) @IsInt() @Min(0) AUTH_RATE_LIMIT_PER_MINUTE = 60;
  /** Failed logins per phone and client address per 15 minutes. */
  @Transform(toInt) @IsInt() @Min(0) LOGIN_FAILURES_PER_PHONE = 5;
  /** Failed logins per phone from all addresses per 15 minutes. */
  @Transform(toInt) @IsInt() @Min(0) LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES = 100;
  @Transform(toInt) @IsInt() @Min(0) EMAIL_CODE_COOLDOWN_SECONDS = 60;
  /** Email bind attempts per user, and per client address, per hour. */
  @Transform(toInt) @IsInt() @Min(0) EMAIL_BIND_ATTEMPTS_PER_HOUR = 20;

  /**
   * Which proxies' X-Forwarded-For to believe, with Fastify's semantics: unset, none (the client
   * is the TCP peer); `true`, every hop; a number, that many hops; else a comma list of addresses,
   * CIDR ranges or `loopback`, `linklocal`, `uniquelocal`.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Validate(TrustProxyRule)
  TRUST_PROXY?: string = undefined;

  /** Signed-in devices per account (devices with a live session); 0: no limit. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10000) MAX_DEVICES_PER_USER = 0;
  /** Over MAX_DEVICES_PER_USER: end the least recently active device's session, or refuse the new login. */
  @IsIn(['kick-oldest', 'deny-new']) DEVICE_LIMIT_POLICY: 'kick-oldest' | 'deny-new' = 'kick-oldest';
  /** A client session unused this long ends (its token then answers 100003); 0: no idle timeout, else at least 2. */
  @Transform(toInt) @IsInt() @Min(0) @Validate(IdleTimeoutRule) SESSION_IDLE_SECONDS = 0;

  /** Socket.IO connections per session at once. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100) SOCKET_MAX_PER_SESSION = 3;
  /** Events per second one socket may send; more gets an `error` (100006) and a disconnect. */
  @Transform(toInt) @IsInt() @Min(1) SOCKET_EVENTS_PER_SECOND = 20;

  /** Diagnosis and benchmarks only: 1 reads every cached entity straight from MySQL. */
  @Transform(toInt) @IsIn([0, 1]) CACHE_BYPASS = 0;

  /** Seconds between a process's re-checks of its own sockets' sessions (heals lost kick messages). */
  @Transform(toInt) @IsInt() @Min(1) SOCKET_SWEEP_SECONDS = 5;

  @Transform(emptyToUndefined) @IsOptional() @IsString() SMTP_URL?: string = undefined;
  @IsString() MAIL_FROM = 'hi-server <no-reply@localhost>';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL = 'info';
  /** `json`: one JSON object per line (production, the default); `pretty`: coloured lines for a person at a terminal (pino-pretty). */
  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' }) LOG_FORMAT: 'json' | 'pretty' = 'json';

  /** The longest a SIGTERM may take to close the process, whatever Redis and MySQL do meanwhile. */
  @Transform(toInt) @IsInt() @Min(1) @Max(600) SHUTDOWN_TIMEOUT_SECONDS = 10;
}

export class ConfigError extends Error {}

/** TRUST_PROXY as Fastify's `trustProxy` option takes it. */
export function trustProxyOption(value: string | undefined): boolean | number | string[] | undefined {
  if (value === undefined || value === 'false') return undefined;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((part) => part.trim());
}

/** The one place that reads the environment. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const plain = Object.fromEntries(Object.entries(env).filter(([key, value]) => known.includes(key) && value !== undefined));
  const config = plainToInstance(AppConfig, plain, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.property}=${JSON.stringify(e.value)}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  if (config.REDIS_CLUSTER_NODES !== undefined && config.REDIS_DB !== 0) {
    throw new ConfigError('Invalid configuration:\n  REDIS_DB must be 0 (or unset) with REDIS_CLUSTER_NODES: a Redis Cluster has only database 0');
  }
  if ((config.ADMIN_PHONE === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError('Invalid configuration:\n  ADMIN_PHONE and ADMIN_PASSWORD must be set together');
  }
  return config;
}

/** REDIS_CLUSTER_NODES as the cluster client takes it. */
export function clusterNodes(value: string): Array<{ host: string; port: number }> {
  return value.split(',').map((part) => {
    const [host, port] = part.trim().split(':');
    return { host, port: Number(port) };
  });
}
