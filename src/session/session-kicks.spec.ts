import { SessionKicks } from './session-kicks';

describe('SessionKicks', () => {
  const kick = { session: { sessionId: 's', userId: 1, identifier: 'd', issuedAt: 0 }, reason: 'logout' as const };

  it('a listener that throws (e.g. the socket adapter closed at shutdown) neither stops the others nor the caller', () => {
    const kicks = new SessionKicks();
    const seen: string[] = [];
    kicks.listen(() => {
      throw new Error('Connection is closed.');
    });
    kicks.listen((list) => seen.push(list[0].reason));
    expect(() => kicks.announce([kick])).not.toThrow();
    expect(seen).toEqual(['logout']);
  });
});
