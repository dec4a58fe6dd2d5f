import { UserStatus } from '../common/user-status';
import { endingReason, endingsOfDeviceChange, endingsOfUserChange, passwordFingerprint } from './session-ending.policy';

describe('session-ending policy', () => {
  const fp = passwordFingerprint('$argon2id$v=19$old');
  const facts = { userStatus: UserStatus.Active, deviceOwner: 7, passwordFingerprint: fp };

  it('a session lives while its user is active, owns the device and has the password it was issued on', () => {
    expect(endingReason({ userId: 7, pw: [fp] }, facts)).toBeNull();
    expect(endingReason({ userId: 7, pw: [fp] }, { ...facts, userStatus: null })).toBe('deleted');
    expect(endingReason({ userId: 7, pw: [fp] }, { ...facts, userStatus: UserStatus.Disabled })).toBe('disabled');
    expect(endingReason({ userId: 7, pw: [fp] }, { ...facts, deviceOwner: null })).toBe('unbound');
    expect(endingReason({ userId: 7, pw: [fp] }, { ...facts, deviceOwner: 8 })).toBe('migrated');
    expect(endingReason({ userId: 7, pw: ['other'] }, facts)).toBe('password_changed');
  });

  it('a session issued before fingerprints were kept ends only when a password change is what is looked at', () => {
    expect(endingReason({ userId: 7 }, facts)).toBeNull();
    expect(endingReason({ userId: 7 }, facts, true)).toBe('password_changed');
  });

  it('a session standing on both passwords (the one that changed it) survives the change', () => {
    const next = passwordFingerprint('$argon2id$v=19$new');
    expect(endingReason({ userId: 7, pw: [fp, next] }, { ...facts, passwordFingerprint: next })).toBeNull();
  });

  it('a changed password hash ends the sessions not standing on the new one; an unchanged or unread one ends nothing', () => {
    const before = { id: 7, status: UserStatus.Active, passwordHash: 'a' };
    expect(endingsOfUserChange(before, { ...before, passwordHash: 'b' })).toEqual([{ kind: 'password', userId: 7, fingerprint: passwordFingerprint('b') }]);
    expect(endingsOfUserChange(before, { ...before })).toEqual([]);
    expect(endingsOfUserChange({ id: 7, status: UserStatus.Active }, { id: 7, status: UserStatus.Active })).toEqual([]);
    expect(endingsOfUserChange(before, { ...before, passwordHash: null })).toEqual([{ kind: 'password', userId: 7, fingerprint: '-' }]);
  });

  it('a user row that takes another id (SQL by hand) ends the sessions of the id it had', () => {
    const before = { id: 7, status: UserStatus.Active };
    expect(endingsOfUserChange(before, { ...before, id: 70 })).toEqual([{ kind: 'user', userId: 7, reason: 'deleted' }]);
  });

  it('a device row names the sessions of its old name and owner when it is deleted, renamed, moved or signed out; nothing else does', () => {
    const before = { identifier: 'phone-1', userId: 7, secretFor: 'abc' };
    const of = (reason: string) => [{ kind: 'device', userId: 7, identifier: 'phone-1', reason }];
    expect(endingsOfDeviceChange(before, null)).toEqual(of('unbound'));
    expect(endingsOfDeviceChange(before, { ...before, identifier: 'phone-2' })).toEqual(of('unbound'));
    expect(endingsOfDeviceChange(before, { ...before, userId: 8 })).toEqual(of('migrated'));
    expect(endingsOfDeviceChange(before, { ...before, secretFor: 'signed_out' })).toEqual(of('signed_out'));
    expect(endingsOfDeviceChange(before, { ...before, secretFor: 'kicked' })).toEqual(of('kicked'));
    expect(endingsOfDeviceChange(before, { ...before, secretFor: 'def' })).toEqual([]);
    expect(endingsOfDeviceChange({ ...before, secretFor: 'kicked' }, { ...before, secretFor: 'kicked' })).toEqual([]);
    expect(endingsOfDeviceChange(null, before)).toEqual([]);
  });

  it('the fingerprint is short, stable and tells nothing of an absent password but that it is absent', () => {
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(passwordFingerprint('$argon2id$v=19$old')).toBe(fp);
    expect(passwordFingerprint(null)).toBe('-');
  });
});
