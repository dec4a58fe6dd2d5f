import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { RedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { SessionEnding } from './session-ending.policy';
import { EndedBy, SessionService } from './session.service';
import type { RevokedSession } from './session.store';

const RELAY_INTERVAL_MS = 2000;
/** A row younger than this is still being applied by the request that wrote it. */
const RELAY_AFTER_MS = 2000;
const BATCH = 100;

/** What a transaction recorded: applied by its caller once it committed. */
export interface PendingEndings {
  id: string;
  endings: SessionEnding[];
  by: EndedBy;
}

/**
 * Durable session endings, as the invalidation outbox is for cache keys. A service that commits a
 * change ending sessions (a disable, a delete, an unbind, a move, a sign-out, a new password)
 * writes those endings to `session_endings` inside its transaction, and after commit revokes them
 * in Redis and deletes the row. If Redis does not answer then, the request answers 503 and the row
 * stays: a relay in every process applies it every two seconds and at once when Redis is back,
 * across restarts too. Ending a session twice ends it once, so relays may overlap. Without it, a
 * Redis blip between the commit and the revocation would leave the sessions alive for good.
 */
@Injectable()
export class SessionEndingOutbox implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionEndings');
  private timer?: NodeJS.Timeout;
  private draining?: Promise<number>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly sessions: SessionService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.redis.on('ready', () => void this.drain().catch(() => undefined));
    this.timer = setInterval(() => void this.drain().catch(() => undefined), RELAY_INTERVAL_MS);
    this.timer.unref();
    await this.drain(0).catch((err: Error) => this.logger.warn(`pending session endings not applied yet: ${err.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.draining?.catch(() => undefined);
  }

  /** Inside the change's transaction; null when it ends nothing. */
  async record(manager: EntityManager, endings: SessionEnding[], by: EndedBy): Promise<PendingEndings | null> {
    if (endings.length === 0) return null;
    const result = await manager.query('INSERT INTO session_endings (endings, ended_by) VALUES (?, ?)', [JSON.stringify(endings), by.slice(0, 255)]);
    return { id: String(result.insertId), endings, by };
  }

  /** After commit: ends the sessions and forgets the row; throws (the row stays) when Redis fails. Returns those that ended. */
  async apply(pending: PendingEndings | null): Promise<RevokedSession[]> {
    if (!pending) return [];
    const ended = await this.sessions.end(pending.endings, pending.by);
    await this.dataSource.query('DELETE FROM session_endings WHERE id = ?', [pending.id]).catch((err: Error) => {
      this.logger.warn(`applied session endings #${pending.id} stay recorded (${err.message}); the relay applies them again, harmlessly`);
    });
    return ended;
  }

  /** Applies what requests could not, oldest first; one drain at a time per process. */
  drain(minAgeMs = RELAY_AFTER_MS): Promise<number> {
    this.draining ??= this.drainOnce(minAgeMs).finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async drainOnce(minAgeMs: number): Promise<number> {
    let applied = 0;
    for (;;) {
      const rows: Array<{ id: string; endings: string; ended_by: string }> = await this.dataSource.query(
        'SELECT id, endings, ended_by FROM session_endings WHERE created_at <= NOW(3) - INTERVAL ? MICROSECOND ORDER BY id LIMIT ?',
        [minAgeMs * 1000, BATCH],
      );
      for (const row of rows) {
        await this.apply({ id: String(row.id), endings: JSON.parse(row.endings) as SessionEnding[], by: row.ended_by });
        applied += 1;
      }
      if (applied > 0 && rows.length < BATCH) this.logger.log(`applied ${applied} pending session ending(s) that a request could not`);
      if (rows.length < BATCH) return applied;
    }
  }
}
