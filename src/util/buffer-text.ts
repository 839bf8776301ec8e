/**
 * Strings from buffer bytes, and Latin-1 text into buffers, through the bindings Buffer#toString and
 * Buffer#write end in, without their argument normalisation and encoding lookup (for a short value
 * the wrapper was about half the cost).
 * Callers pass in-range offsets. Falls back to toString where a binding is missing.
 */
type Slice = (this: Buffer, start: number, end: number) => string;
type Write = (this: Buffer, text: string, offset: number, length: number) => number;

const bindings = Buffer.prototype as unknown as { latin1Slice?: Slice; hexSlice?: Slice; latin1Write?: Write };
const latin1Slice: Slice = bindings.latin1Slice ?? function (this: Buffer, start: number, end: number): string {
  return this.toString('latin1', start, end);
};
const hexSlice: Slice = bindings.hexSlice ?? function (this: Buffer, start: number, end: number): string {
  return this.toString('hex', start, end);
};

const latin1WriteBinding: Write = bindings.latin1Write ?? function (this: Buffer, text: string, offset: number, length: number): number {
  return this.write(text, offset, length, 'latin1');
};

/** buf[start, end) as Latin-1 text (bytes map 1:1 to code units). */
export function latin1Text(buf: Buffer, start: number, end: number): string {
  return latin1Slice.call(buf, start, end);
}

/** buf[start, end) as lower-case hex. */
export function hexText(buf: Buffer, start: number, end: number): string {
  return hexSlice.call(buf, start, end);
}

/** Writes `text` as Latin-1 into buf at `offset` (as much as fits); returns the bytes written. */
export function writeLatin1(buf: Buffer, text: string, offset: number): number {
  return latin1WriteBinding.call(buf, text, offset, buf.length - offset);
}

/**
 * A copy of Latin-1 text that shares no storage with a longer string. V8 makes a slice of 13 or
 * more characters a view into its parent, so a header value sliced from a whole message head keeps
 * the head alive for as long as the value lives; anything that outlives the request (a cache key,
 * a connection's last Host) keeps a detached copy instead.
 */
export function detachedLatin1(text: string): string {
  if (text.length < 13) return text;
  const bytes = Buffer.from(text, 'latin1');
  return latin1Text(bytes, 0, bytes.length);
}
