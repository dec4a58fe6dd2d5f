import { domainToASCII } from 'url';

/**
 * The one spelling of an email address that is stored, cached and compared (CONTRACT section 3,
 * "Identities are exact"): trimmed, Unicode NFC, lower-cased, the domain in its ASCII (IDNA) form.
 * Comparison is then byte for byte, so `victim@exämple.com` (whose domain is `xn--exmple-cua.com`)
 * and `vïctim@example.com` stay apart from `victim@example.com`. Null when the domain is not a
 * valid IDNA name. Lower-casing can decompose a letter (`İ`), hence NFC on both sides of it.
 */
export function canonicalEmail(raw: string): string | null {
  const text = raw.trim().normalize('NFC');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return null;
  const local = text.slice(0, at).toLowerCase().normalize('NFC');
  const domain = domainToASCII(text.slice(at + 1));
  return domain === '' ? null : `${local}@${domain}`;
}
