import { PASSWORD, uniqueIdentifier, uniquePhone } from './builders';
import { Api } from './http';

export interface ClientLogin {
  token: string;
  userId: number;
  deviceId: number;
  /** The secret the next login of this device must present. */
  deviceSecret: string;
  identifier: string;
  phone?: string;
}

/** Common client journeys, asserting each step's success so a failure points at its cause. */
export async function registerUser(api: Api, phone = uniquePhone(), identifier = uniqueIdentifier()): Promise<ClientLogin> {
  const res = await api.post('/auth/register', { phone, password: PASSWORD, identifier });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body.data, identifier, phone };
}

export async function deviceLogin(api: Api, identifier = uniqueIdentifier(), deviceSecret?: string): Promise<ClientLogin> {
  const res = await api.post('/auth/device', deviceSecret === undefined ? { identifier } : { identifier, deviceSecret });
  if (res.status !== 200) throw new Error(`device login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body.data, identifier };
}

export async function staffLogin(api: Api, phone: string, password: string): Promise<string> {
  const res = await api.post('/oa/auth/login', { phone, password });
  if (res.status !== 200) throw new Error(`staff login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.token;
}

export { PASSWORD };

/** The email code mailed to `userId` for `email` (kept per user in the hash `verify:email:{email}`). */
export async function emailCodeOf(redis: { hget(key: string, field: string): Promise<string | null> }, email: string, userId: number): Promise<string | null> {
  return redis.hget(`verify:email:${email}`, String(userId));
}

/**
 * The password reset code mailed for `email` to the account `userId` (`verify:reset:{email}`, one
 * field per requester: `<userId>@<client address>`); tests ask from one address.
 */
export async function resetCodeOf(redis: { hgetall(key: string): Promise<Record<string, string>> }, email: string, userId: number): Promise<string | null> {
  const fields = await redis.hgetall(`verify:reset:${email}`);
  const owner = Object.keys(fields).find((field) => field.startsWith(`${userId}@`) && !field.endsWith(':wrong'));
  return owner === undefined ? null : fields[owner];
}

/** A phone login of a device into the phone's account; the raw answer. */
export function phoneLogin(api: Api, phone: string, identifier: string, extra: { password?: string; deviceSecret?: string } = {}) {
  const { password = PASSWORD, deviceSecret } = extra;
  return api.post('/auth/login', deviceSecret === undefined ? { phone, password, identifier } : { phone, password, identifier, deviceSecret });
}

/** A staff member of role `operator`, created by an admin: their phone and a logged-in token. */
export async function createOperator(api: Api, adminToken: string): Promise<{ phone: string; token: string }> {
  const phone = uniquePhone();
  const res = await api.post('/admin/oa-users', { phone, password: PASSWORD, name: 'on call', role: 'operator' }, adminToken);
  if (res.status !== 201) throw new Error(`creating an operator failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { phone, token: await staffLogin(api, phone, PASSWORD) };
}
