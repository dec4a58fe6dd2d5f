import { SessionService } from '../../src/session/session.service';
import { AppUserService } from '../../src/app-user/app-user.service';
import { UserStatus } from '../../src/common/user-status';
import { PASSWORD, uniqueIdentifier } from '../support/builders';
import { registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** Interleavings of a login with an admin's disable, forced on the real app. */
describe('a login racing a disable or a password change', () => {
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ app, api } = await world.start());
  });
  afterAll(() => world.close());

  it('a disable that commits after the login checked the status but before it issued leaves no live session', async () => {
    const { phone, userId } = await registerUser(api);
    await world.redis.del(`user_sessions:${userId}`); // only the racing login's session is of interest
    const sessions = app.get(SessionService);
    const issue = sessions.issue.bind(sessions);
    const spy = jest.spyOn(sessions, 'issue').mockImplementationOnce(async (id, identifier, pw) => {
      // The admin's disable commits and revokes every session it can see: none yet.
      await app.get(AppUserService).setStatus(id, UserStatus.Disabled, null, 'test');
      return issue(id, identifier, pw);
    });
    try {
      const res = await api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
      expect([res.status, res.body.code]).toEqual([403, 20004]);
    } finally {
      spy.mockRestore();
    }
    expect(await world.redis.zcard(`user_sessions:${userId}`)).toBe(0);
  });

  it('a device that joins another account ends its old session as replaced (20103), never migrated', async () => {
    const account = await registerUser(api);
    const guest = await api.post('/auth/device', { identifier: uniqueIdentifier() });
    const { token, userId, deviceSecret } = guest.body.data;
    const identifier = (await api.get('/me/devices', token)).body.data[0].identifier;
    const joined = await api.post('/auth/login', { phone: account.phone, password: PASSWORD, identifier, deviceSecret });
    expect(joined.status).toBe(200);
    expect((await api.get('/me', token)).body.code).toBe(20103);
    expect(await world.redis.zcard(`user_sessions:${userId}`)).toBe(0);
  });

  it('a password change that commits after a login checked the old password leaves no session standing on it', async () => {
    const owner = await registerUser(api);
    const sessions = app.get(SessionService);
    const issue = sessions.issue.bind(sessions);
    const spy = jest.spyOn(sessions, 'issue').mockImplementationOnce(async (id, identifier, pw) => {
      // The owner changes the password and every other session it can see ends: none of this login yet.
      const changed = await api.put('/me/password', { currentPassword: PASSWORD, newPassword: 'changed-meanwhile-1' }, owner.token);
      expect(changed.status).toBe(200);
      return issue(id, identifier, pw);
    });
    try {
      const res = await api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: uniqueIdentifier() });
      expect([res.status, res.body.code]).toEqual([401, 20003]);
    } finally {
      spy.mockRestore();
    }
    const live = await sessions.sessionsOfUser(owner.userId);
    expect(live.map((s) => s.identifier)).toEqual([owner.identifier]);
  });
});
