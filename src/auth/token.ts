import { createHash, randomBytes } from 'crypto';

/** 256 random bits; only their SHA-256 is ever stored (CONTRACT section 2). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]{16,512})\s*$/i.exec(header);
  return match ? match[1] : null;
}
