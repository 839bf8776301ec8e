/** True when `s` is exactly `length` lower-case hex characters and not all zeros (an id W3C and B3 accept). */
export function isHexId(s: string, length: number): boolean {
  if (s.length !== length) return false;
  let nonZero = false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (c !== 0x30) nonZero = true;
    } else if (c >= 0x61 && c <= 0x66) {
      nonZero = true;
    } else {
      return false;
    }
  }
  return nonZero;
}
