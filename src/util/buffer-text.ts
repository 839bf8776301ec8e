/**
 * Strings from buffer bytes through the bindings Buffer#toString ends in, without its argument
 * normalisation and encoding lookup (for a short value the wrapper was about half the cost).
 * Callers pass in-range offsets. Falls back to toString where a binding is missing.
 */
type Slice = (this: Buffer, start: number, end: number) => string;

const bindings = Buffer.prototype as unknown as { latin1Slice?: Slice; hexSlice?: Slice };
const latin1Slice: Slice = bindings.latin1Slice ?? function (this: Buffer, start: number, end: number): string {
  return this.toString('latin1', start, end);
};
const hexSlice: Slice = bindings.hexSlice ?? function (this: Buffer, start: number, end: number): string {
  return this.toString('hex', start, end);
};

/** buf[start, end) as Latin-1 text (bytes map 1:1 to code units). */
export function latin1Text(buf: Buffer, start: number, end: number): string {
  return latin1Slice.call(buf, start, end);
}

/** buf[start, end) as lower-case hex. */
export function hexText(buf: Buffer, start: number, end: number): string {
  return hexSlice.call(buf, start, end);
}
