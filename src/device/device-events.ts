import type { KickReason } from '../session/kick-reason';

/** The socket events of namespace /devices, in one typed map (CONTRACT section 5). */
export interface ServerToDeviceEvents {
  /** The session ended; the server disconnects the socket right after. */
  kicked: (payload: { reason: KickReason }) => void;
  /** The socket broke a limit (100006: more than SOCKET_EVENTS_PER_SECOND); it is disconnected right after. */
  error: (payload: { code: number; msg: string }) => void;
}

export type DeviceToServerEvents = Record<string, (...args: unknown[]) => void>;

export interface DeviceSocketData {
  sessionId: string;
  userId: number;
  identifier: string;
}

export const DEVICES_NAMESPACE = '/devices';
export const Rooms = {
  device: (identifier: string) => `device:${identifier}`,
  session: (sessionId: string) => `session:${sessionId}`,
};
