import { sha256Hex } from '../common/secrets';
import { UserStatus } from '../common/user-status';
import type { KickReason } from './kick-reason';

/**
 * The one home of the rule "which data ends which session", used alike by the services that
 * change users and devices, by change capture for hand-written SQL, at login and by the socket
 * sweep. It speaks of rows by their entities' properties and enums, never of columns.
 *
 * The invariant: a client session of (userId, identifier) may live only while the user exists and
 * is active, the device exists, belongs to that user and was not signed out since, and the user's
 * password is the one the session was issued on.
 */

/**
 * What a session remembers of the password it was issued on: enough to tell that it changed,
 * nothing that helps guess it (a prefix of the SHA-256 of the argon2 hash). No password: '-'.
 */
export function passwordFingerprint(passwordHash: string | null | undefined): string {
  return passwordHash ? sha256Hex(passwordHash).slice(0, 16) : '-';
}

/** What MySQL says now about a session's user and device. */
export interface SessionFacts {
  /** The status of the session's user; null when the user is gone. */
  userStatus: UserStatus | null;
  /** The user the session's device belongs to; null when the device is gone. */
  deviceOwner: number | null;
  /** How the device was signed out for good (its secret stopped), if it was; a phone login clears it. */
  deviceSignedOut?: 'signed_out' | 'kicked' | null;
  /** passwordFingerprint of the session's user's password hash; null when the user is gone. */
  passwordFingerprint: string | null;
}

/** What a session says of itself, as far as the rule is concerned. */
export interface SessionClaims {
  userId: number;
  /** The password fingerprints it stands on; absent on sessions issued before they were kept. */
  pw?: string[];
}

/**
 * Why a session may not live given `facts`; null when it may. A session that predates password
 * fingerprints is taken to stand on the current password, unless `passwordChanged` says a change
 * of the user's password is what is being looked at.
 */
export function endingReason(session: SessionClaims, facts: SessionFacts, passwordChanged = false): KickReason | null {
  if (facts.userStatus === null) return 'deleted';
  if (facts.userStatus !== UserStatus.Active) return 'disabled';
  if (facts.deviceOwner === null) return 'unbound';
  if (facts.deviceOwner !== session.userId) return 'migrated';
  if (facts.deviceSignedOut) return facts.deviceSignedOut;
  if (facts.passwordFingerprint !== null && !standsOn(session, facts.passwordFingerprint, passwordChanged)) return 'password_changed';
  return null;
}

/** Whether a session stands on the password with this fingerprint. */
export function standsOn(session: Pick<SessionClaims, 'pw'>, fingerprint: string, legacyEnds = true): boolean {
  return session.pw ? session.pw.includes(fingerprint) : !legacyEnds;
}

export type SessionEnding =
  | { kind: 'user'; userId: number; reason: 'disabled' | 'deleted' }
  /** The user's password changed: its sessions that do not stand on `fingerprint` end. */
  | { kind: 'password'; userId: number; fingerprint: string }
  | { kind: 'device'; userId: number; identifier: string; reason: 'unbound' | 'migrated' | 'signed_out' | 'kicked' };

export interface UserImage {
  id: number;
  status: UserStatus;
  /** Absent when the writer did not load it (it did not change then). */
  passwordHash?: string | null;
}

export interface DeviceImage {
  identifier: string;
  userId: number;
  /** Absent when the writer did not load it (it did not change then). */
  secretFor?: string | null;
}

/** The marks of a device signed out for good (its secret stopped), kept where its secret's standing is. */
export const SIGN_OUT_MARKS = ['signed_out', 'kicked'] as const;
export type SignOutMark = (typeof SIGN_OUT_MARKS)[number];

export function isSignOutMark(value: string | null | undefined): value is SignOutMark {
  return (SIGN_OUT_MARKS as readonly string[]).includes(value ?? '');
}

/**
 * The sessions a write of a user row ends: null `before` is an insert, null `after` a delete. A
 * user that is not active after the write has no session, whatever it was before: an admin's
 * disable of a row that hand-written SQL disabled already still ends what that SQL left behind.
 * A changed password hash ends every session not issued on the new one.
 */
export function endingsOfUserChange(before: UserImage | null, after: UserImage | null): SessionEnding[] {
  if (before && !after) return [{ kind: 'user', userId: before.id, reason: 'deleted' }];
  // A new id (SQL by hand): the user the sessions were issued to no longer exists.
  if (before && after && before.id !== after.id) return [{ kind: 'user', userId: before.id, reason: 'deleted' }];
  if (after && after.status !== UserStatus.Active) return [{ kind: 'user', userId: after.id, reason: 'disabled' }];
  if (before && after && after.passwordHash !== undefined && before.passwordHash !== undefined && before.passwordHash !== after.passwordHash) {
    return [{ kind: 'password', userId: after.id, fingerprint: passwordFingerprint(after.passwordHash) }];
  }
  return [];
}

/**
 * The sessions a change of a device row ends, named by the device and owner they were issued to:
 * a deleted or renamed device's (the device of that identifier is gone), a moved device's under
 * its previous owner, a device's signed out (its secret stopped). Whoever applies them holds each
 * session against MySQL as it is then (endingReason), so naming one too many ends nothing.
 */
export function endingsOfDeviceChange(before: DeviceImage | null, after: DeviceImage | null): SessionEnding[] {
  if (!before) return [];
  const ending = (reason: Extract<SessionEnding, { kind: 'device' }>['reason']): SessionEnding[] => [
    { kind: 'device', userId: before.userId, identifier: before.identifier, reason },
  ];
  if (!after || before.identifier !== after.identifier) return ending('unbound');
  if (before.userId !== after.userId) return ending('migrated');
  if (after.secretFor !== undefined && before.secretFor !== after.secretFor && isSignOutMark(after.secretFor)) return ending(after.secretFor);
  return [];
}
