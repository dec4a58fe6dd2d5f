import type { KickReason } from '../session/kick-reason';

/** The socket events of namespace /devices, in one typed map (CONTRACT section 5). */
export interface ServerToDeviceEvents {
  kicked: (payload: { reason: KickReason }) => void;
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
