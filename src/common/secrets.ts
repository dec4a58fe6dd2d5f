import { createHash, randomBytes, timingSafeEqual } from 'crypto';

/** 256 random bits, base64url: tokens and device secrets (CONTRACT section 2: at least 128). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the server keeps of a secret: its SHA-256, hex. */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Whether `secret` hashes to `hash`, in time that does not depend on where they differ. */
export function matchesHash(hash: string, secret: string | undefined): boolean {
  if (secret === undefined) return false;
  const expected = Buffer.from(hash, 'hex');
  const actual = Buffer.from(sha256Hex(secret), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
