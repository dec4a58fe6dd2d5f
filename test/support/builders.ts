import { randomBytes, randomInt } from 'crypto';

let counter = 0;

/** Unique values per call, so tests never share rows or keys. */
export function uniquePhone(): string {
  counter += 1;
  return `1${String(randomInt(10 ** 6)).padStart(6, '0')}${String(counter).padStart(4, '0')}`;
}

export function uniqueIdentifier(label = 'dev'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

export function uniqueEmail(): string {
  return `u${randomBytes(6).toString('hex')}@example.test`;
}

export const PASSWORD = 'correct-horse-9';
