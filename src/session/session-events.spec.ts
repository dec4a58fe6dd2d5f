import { Injectable } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { OnSessionEvent, SessionEventBus, SessionEvents } from './session-events';

@Injectable()
class Failing {
  @OnSessionEvent('session.ended')
  fail(): void {
    throw new Error('Connection is closed.');
  }
}

@Injectable()
class Recording {
  readonly seen: string[] = [];

  @OnSessionEvent('session.ended')
  record({ ended }: SessionEvents['session.ended']): void {
    this.seen.push(...ended.map((e) => e.reason));
  }
}

describe('SessionEventBus', () => {
  it('a listener that throws (the socket adapter closed at shutdown) neither stops the others nor the caller', async () => {
    const module = await Test.createTestingModule({ imports: [EventEmitterModule.forRoot()], providers: [SessionEventBus, Failing, Recording] })
      .setLogger({ log: () => undefined, error: () => undefined, warn: () => undefined })
      .compile();
    await module.init();
    const session = { sessionId: 's', userId: 1, identifier: 'd', issuedAt: 0 };
    expect(() => module.get(SessionEventBus).emit('session.ended', { ended: [{ session, reason: 'logout' }], by: 'test' })).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(module.get(Recording).seen).toEqual(['logout']);
    await module.close();
  });
});
