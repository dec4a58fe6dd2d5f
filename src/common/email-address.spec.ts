import { canonicalEmail } from './email-address';

describe('canonicalEmail', () => {
  it.each([
    [' Victim@Example.COM ', 'victim@example.com'],
    ['victim@exämple.com', 'victim@xn--exmple-cua.com'],
    ['victim@EXÄMPLE.com', 'victim@xn--exmple-cua.com'],
    ['vïctim@example.com', 'vïctim@example.com'],
    ['vi\u0308ctim@example.com', 'vïctim@example.com'], // decomposed ï: NFC makes it one code point
    ['a@b@example.com', 'a@b@example.com'],
  ])('%j -> %j', (raw, canonical) => {
    expect(canonicalEmail(raw)).toBe(canonical);
  });

  it('keeps lookalikes apart from the address they imitate', () => {
    expect(canonicalEmail('victim@exämple.com')).not.toBe(canonicalEmail('victim@example.com'));
    expect(canonicalEmail('vïctim@example.com')).not.toBe(canonicalEmail('victim@example.com'));
  });

  it.each(['no-at-sign', '@example.com', 'local@', 'a@exa mple.com'])('has no canonical form for %j', (raw) => {
    expect(canonicalEmail(raw)).toBeNull();
  });
});
