import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.constants';

const key = (identifier: string) => `device:online:${identifier}`;

/**
 * Which devices have a live socket on any process: a sorted set per device of socket ids scored
 * by when the entry lapses. Each process refreshes its own sockets on every sweep, so the entries
 * of a process that died lapse by themselves.
 */
@Injectable()
export class DevicePresence {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async add(identifier: string, socketId: string, ttlMs: number): Promise<void> {
    await this.redis.multi().zadd(key(identifier), Date.now() + ttlMs, socketId).pexpire(key(identifier), ttlMs).exec();
  }

  async remove(identifier: string, socketId: string): Promise<void> {
    await this.redis.zrem(key(identifier), socketId);
  }

  async refresh(entries: Array<{ identifier: string; socketId: string }>, ttlMs: number): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    const until = Date.now() + ttlMs;
    for (const { identifier, socketId } of entries) {
      pipeline.zadd(key(identifier), until, socketId).pexpire(key(identifier), ttlMs).zremrangebyscore(key(identifier), '-inf', Date.now());
    }
    await pipeline.exec();
  }

  async online(identifiers: string[]): Promise<Set<string>> {
    if (identifiers.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    const now = Date.now();
    identifiers.forEach((identifier) => pipeline.zcount(key(identifier), now, '+inf'));
    const results = (await pipeline.exec()) ?? [];
    return new Set(identifiers.filter((_, i) => Number(results[i]?.[1] ?? 0) > 0));
  }
}
