import { ErrorCode, ErrorSpec } from '../common/error-codes';

/** Why a session ended, as sent in the socket's `kicked` event (CONTRACT section 5). */
export type KickReason = 'migrated' | 'unbound' | 'replaced' | 'logout' | 'disabled' | 'deleted' | 'overflow' | 'password_changed' | 'signed_out' | 'kicked';

/** What a revoked token answers on its next request; a logged-out token is simply unknown. */
export const REVOKED_ERROR: Record<KickReason, ErrorSpec> = {
  migrated: ErrorCode.SESSION_MIGRATED,
  unbound: ErrorCode.SESSION_UNBOUND,
  replaced: ErrorCode.SESSION_REPLACED,
  disabled: ErrorCode.SESSION_USER_GONE,
  deleted: ErrorCode.SESSION_USER_GONE,
  logout: ErrorCode.UNAUTHORIZED,
  overflow: ErrorCode.SESSION_OVERFLOW,
  password_changed: ErrorCode.SESSION_PASSWORD_CHANGED,
  signed_out: ErrorCode.SESSION_SIGNED_OUT,
  kicked: ErrorCode.SESSION_KICKED,
};

export function isKickReason(value: unknown): value is KickReason {
  return typeof value === 'string' && value in REVOKED_ERROR;
}
