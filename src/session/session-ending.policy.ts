import { UserStatus } from '../common/user-status';
import type { KickReason } from './kick-reason';

/**
 * The one home of the rule "which data ends which session", used alike by the services that
 * change users and devices, by change capture for hand-written SQL, at login and by the socket
 * sweep. It speaks of rows by their entities' properties and enums, never of columns.
 *
 * The invariant: a client session of (userId, identifier) may live only while the user exists and
 * is active and the device exists and belongs to that user.
 */

/** What MySQL says now about a session's user and device. */
export interface SessionFacts {
  /** The status of the session's user; null when the user is gone. */
  userStatus: UserStatus | null;
  /** The user the session's device belongs to; null when the device is gone. */
  deviceOwner: number | null;
}

/** Why a session of `userId` may not live given `facts`; null when it may. */
export function endingReason(userId: number, facts: SessionFacts): KickReason | null {
  if (facts.userStatus === null) return 'deleted';
  if (facts.userStatus !== UserStatus.Active) return 'disabled';
  if (facts.deviceOwner === null) return 'unbound';
  if (facts.deviceOwner !== userId) return 'migrated';
  return null;
}

export type SessionEnding =
  | { kind: 'user'; userId: number; reason: 'disabled' | 'deleted' }
  | { kind: 'device'; userId: number; identifier: string; reason: 'unbound' | 'migrated' };

export interface UserImage {
  id: number;
  status: UserStatus;
}

export interface DeviceImage {
  identifier: string;
  userId: number;
}

/**
 * The sessions a write of a user row ends: null `before` is an insert, null `after` a delete. A
 * user that is not active after the write has no session, whatever it was before: an admin's
 * disable of a row that hand-written SQL disabled already still ends what that SQL left behind.
 */
export function endingsOfUserChange(before: UserImage | null, after: UserImage | null): SessionEnding[] {
  if (before && !after) return [{ kind: 'user', userId: before.id, reason: 'deleted' }];
  if (after && after.status !== UserStatus.Active) return [{ kind: 'user', userId: after.id, reason: 'disabled' }];
  return [];
}

/** The sessions a change of a device row ends: those it had under its previous owner. */
export function endingsOfDeviceChange(before: DeviceImage | null, after: DeviceImage | null): SessionEnding[] {
  if (before && !after) return [{ kind: 'device', userId: before.userId, identifier: before.identifier, reason: 'unbound' }];
  if (before && after && before.userId !== after.userId) {
    return [{ kind: 'device', userId: before.userId, identifier: before.identifier, reason: 'migrated' }];
  }
  return [];
}
