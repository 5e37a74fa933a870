// RFC 4648 base32 without padding (Go's base32.StdEncoding.WithPadding(NoPadding)), as
// kube-proxy names its chains and kube-apiserver its identity Leases.
const RFC4648 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32NoPad(b: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += RFC4648[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += RFC4648[(value << (5 - bits)) & 31];
  return out;
}
