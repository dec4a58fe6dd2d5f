import { ErrorCode, ErrorSpec } from '../common/error-codes';

/** Why a session ended, as sent in the socket's `kicked` event (CONTRACT section 5). */
export type KickReason = 'migrated' | 'unbound' | 'replaced' | 'logout' | 'disabled' | 'deleted';

/** What a revoked token answers on its next request; a logged-out token is simply unknown. */
export const REVOKED_ERROR: Record<KickReason, ErrorSpec> = {
  migrated: ErrorCode.SESSION_MIGRATED,
  unbound: ErrorCode.SESSION_UNBOUND,
  replaced: ErrorCode.SESSION_REPLACED,
  disabled: ErrorCode.SESSION_USER_GONE,
  deleted: ErrorCode.SESSION_USER_GONE,
  logout: ErrorCode.UNAUTHORIZED,
};

export function isKickReason(value: unknown): value is KickReason {
  return typeof value === 'string' && value in REVOKED_ERROR;
}
