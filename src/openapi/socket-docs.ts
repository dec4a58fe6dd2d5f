import { ErrorCode } from '../common/error-codes';
import { DEVICES_NAMESPACE } from '../device/device-events';
import { KickReason, REVOKED_ERROR } from '../session/kick-reason';

/** Why each session end happens, as a client developer needs it; the compiler asks for a new reason's line. */
const WHY: Record<KickReason, string> = {
  migrated: 'the device moved to another account (an email binding of this or another device of the account, or by hand in SQL)',
  unbound: 'the device was removed from the account (`DELETE /me/devices/{identifier}`, or deleted by hand)',
  replaced: 'the same device logged in again (another install, a restored backup, a phone login into another account)',
  logout: 'the session logged out (`POST /auth/logout`)',
  disabled: 'the account was disabled (by staff, or by hand)',
  deleted: 'the account was deleted (by staff, or by hand)',
  overflow: "the account's device limit pushed this device out (`DEVICE_LIMIT_POLICY=kick-oldest`)",
  password_changed: "the account's password was changed (`PUT /me/password` on another device), reset by email, or changed by hand",
  signed_out: 'another device of the account signed this one out (`POST /me/devices/{identifier}/sign-out`, `sign-out-others`)',
  kicked: 'staff signed the device out (`POST /admin/app-users/{id}/devices/{identifier}/sign-out`)',
};

const code = (n: number) => `\`${n}\``;

/** The Socket.IO interface (CONTRACT section 5), for the document's description; reasons and codes come from the code. */
export function socketDocs(): string {
  const reasons = Object.keys(REVOKED_ERROR) as KickReason[];
  const refusalCodes = [...new Set(reasons.map((reason) => REVOKED_ERROR[reason].code))].sort((a, b) => a - b);
  const rows = reasons.map((reason) => {
    const spec = REVOKED_ERROR[reason];
    return `| \`${reason}\` | ${WHY[reason]} | ${spec.status} / ${code(spec.code)} |`;
  });
  return `
## Devices over Socket.IO

Devices keep a Socket.IO 4 connection (path \`/socket.io/\`, WebSocket or long polling) to the namespace
**\`${DEVICES_NAMESPACE}\`** on the host and port of this API. It is how a device learns at once that its session ended.

**Connect** with a client token (the one \`/auth/*\` answered, as for the \`client\` scheme) in the handshake's \`auth\`:
\`io('https://<host>${DEVICES_NAMESPACE}', { auth: { token } })\`. A staff token is unknown here. Only \`${DEVICES_NAMESPACE}\`
accepts connections: the main namespace refuses with \`connect_error\` \`unknown namespace: connect to ${DEVICES_NAMESPACE}\`
(\`data.code\` ${code(ErrorCode.NOT_FOUND.code)}), any other with Socket.IO's own \`Invalid namespace\`.

**Refused connections** get \`connect_error\` with \`message\` and \`data: {code, msg}\`:

| message | \`data.code\` | when |
|---|---|---|
| \`unauthorized\` | ${refusalCodes.map(code).join(', ')} | no token, an unknown or lapsed one (${code(ErrorCode.UNAUTHORIZED.code)}), or a session that ended: the code says why, as on HTTP (table below) |
| \`too many connections\` | ${code(ErrorCode.TOO_MANY_REQUESTS.code)} | the session holds \`SOCKET_MAX_PER_SESSION\` (default 3) connections already |

**Events from the server**

| event | payload | when |
|---|---|---|
| \`kicked\` | \`{reason}\` | the session ended, on whichever server process ended it; the server disconnects the socket right after |
| \`error\` | \`{code: ${ErrorCode.TOO_MANY_REQUESTS.code}, msg}\` | the socket sent more than \`SOCKET_EVENTS_PER_SECOND\` (default 20) events in a second; it is disconnected right after |

**Events from the device.** The server defines none of its own. Any event counts as use of the session (the idle timeout,
\`lastActiveAt\`, \`online\` in \`GET /me/devices\`), and an event of a session that ended meanwhile is answered with the
\`kicked\` it missed. A message over 16 KiB is refused by the transport.

**\`kicked\` reasons**, and what the session's token answers afterwards on HTTP (for \`min(SESSION_TTL_SECONDS, 24 h)\`, then ${code(ErrorCode.UNAUTHORIZED.code)}):

| reason | why | token answers |
|---|---|---|
${rows.join('\n')}

A kick reaches the socket on every server process (through Redis); should one be lost, each process re-checks its
sockets' sessions every \`SOCKET_SWEEP_SECONDS\` (default 5) and on every inbound event.
`;
}
