import { io, Socket } from 'socket.io-client';

export interface DeviceConnection {
  socket: Socket;
  /** Resolves with the `kicked` reason, in the order the events arrived. */
  kicked: Promise<string>;
  /** Resolves with the disconnect reason once the server closed the connection. */
  closed: Promise<string>;
  events: string[];
  close(): void;
}

/** Connects to namespace /devices as a device would; resolves once the server accepted it. */
export function connectDevice(baseUrl: string, token: string | undefined): Promise<DeviceConnection> {
  const socket = io(`${baseUrl}/devices`, { auth: token === undefined ? {} : { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  const events: string[] = [];
  const kicked = new Promise<string>((resolve) => socket.on('kicked', (p: { reason: string }) => (events.push(`kicked:${p.reason}`), resolve(p.reason))));
  const closed = new Promise<string>((resolve) => socket.on('disconnect', (reason) => (events.push(`disconnect:${reason}`), resolve(reason))));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, kicked, closed, events, close: () => socket.close() }));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** The refusal of a connection attempt: its message and the code the server attached. */
export async function refusal(baseUrl: string, token: string | undefined): Promise<{ message: string; code?: number }> {
  try {
    const conn = await connectDevice(baseUrl, token);
    conn.close();
    return { message: 'connected' };
  } catch (err) {
    const e = err as Error & { data?: { code?: number } };
    return { message: e.message, code: e.data?.code };
  }
}

export { within } from './wait';
