import { newSecret, sha256Hex } from '../common/secrets';

/** 256 random bits; only their SHA-256 is ever stored (CONTRACT section 2). */
export const newToken = newSecret;

export const sessionIdOf = sha256Hex;

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]{16,512})\s*$/i.exec(header);
  return match ? match[1] : null;
}
