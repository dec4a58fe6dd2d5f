/**
 * Business codes clients depend on (CONTRACT section 2). Stable: add, never renumber.
 * docs/api.md lists them for client developers.
 */
export const ErrorCode = {
  INTERNAL: { code: 100001, status: 500, msg: 'internal error' },
  INVALID_PARAM: { code: 100002, status: 400, msg: 'request parameter invalid' },
  UNAUTHORIZED: { code: 100003, status: 401, msg: 'token missing, invalid or expired' },
  FORBIDDEN: { code: 100004, status: 403, msg: 'not allowed' },
  DB_FAILED: { code: 100005, status: 500, msg: 'database query failed' },
  TOO_MANY_REQUESTS: { code: 100006, status: 429, msg: 'too many requests' },
  UNAVAILABLE: { code: 100007, status: 503, msg: 'service unavailable' },
  NOT_FOUND: { code: 100008, status: 404, msg: 'not found' },
  UNSUPPORTED_MEDIA_TYPE: { code: 100009, status: 415, msg: 'request body is not application/json' },

  PHONE_EXISTS: { code: 20001, status: 409, msg: 'phone already registered' },
  BAD_CREDENTIALS: { code: 20003, status: 401, msg: 'phone or password incorrect' },
  USER_DISABLED: { code: 20004, status: 403, msg: 'user disabled' },
  USER_NOT_FOUND: { code: 20005, status: 404, msg: 'user not found' },
  DEVICE_NOT_FOUND: { code: 20006, status: 404, msg: 'device not found' },
  EMAIL_CODE_INVALID: { code: 20007, status: 400, msg: 'email code invalid or expired' },
  INVITE_NOT_FOUND: { code: 20009, status: 400, msg: '无邀请码' },
  INVITE_OWN_CODE: { code: 20010, status: 400, msg: 'cannot use your own invite code' },
  INVITE_ALREADY_BOUND: { code: 20011, status: 409, msg: 'an invite code is already bound' },
  OA_USER_NOT_FOUND: { code: 20012, status: 404, msg: 'staff user not found' },
  DEVICE_CREDENTIALS_INVALID: { code: 20013, status: 401, msg: 'device credentials invalid: this device identifier needs its deviceSecret' },
  DEVICE_LIMIT_REACHED: { code: 20014, status: 403, msg: "the account's device limit is reached: sign a device out first" },
  CURRENT_PASSWORD_INCORRECT: { code: 20015, status: 403, msg: 'current password incorrect' },

  SESSION_MIGRATED: { code: 20101, status: 401, msg: 'migrated: the device moved to another account' },
  SESSION_UNBOUND: { code: 20102, status: 401, msg: 'unbound: the device was removed from the account' },
  SESSION_REPLACED: { code: 20103, status: 401, msg: 'replaced: the device logged in again' },
  SESSION_USER_GONE: { code: 20104, status: 401, msg: 'the user was disabled or deleted' },
  SESSION_OVERFLOW: { code: 20105, status: 401, msg: "overflow: the account's device limit pushed this device out" },
  SESSION_PASSWORD_CHANGED: { code: 20106, status: 401, msg: "password_changed: the account's password was changed or reset" },
  SESSION_SIGNED_OUT: { code: 20107, status: 401, msg: "signed_out: signed out from another of the account's devices" },
  SESSION_KICKED: { code: 20108, status: 401, msg: 'kicked: signed out by staff' },
} as const;

export type ErrorSpec = (typeof ErrorCode)[keyof typeof ErrorCode];
