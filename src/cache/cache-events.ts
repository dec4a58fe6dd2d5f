import { Injectable } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';

/** The cache's events, in one typed map; who reacts is declared there with @OnCacheEvent. */
export interface CacheEvents {
  /** Keys deleted from Redis (with their fill leases) because their rows changed. */
  'cache.invalidated': { keys: string[] };
  /** Keys whose invalidation Redis refused: the outbox (or change capture) retries them. */
  'cache.invalidation-failed': { keys: string[] };
}

export const OnCacheEvent = <K extends keyof CacheEvents>(name: K) => OnEvent(name);

@Injectable()
export class CacheEventBus {
  constructor(private readonly emitter: EventEmitter2) {}

  emit<K extends keyof CacheEvents>(name: K, payload: CacheEvents[K]): void {
    this.emitter.emit(name, payload);
  }
}
