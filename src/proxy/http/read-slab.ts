/**
 * Read buffers for one socket that uses Node's `onread` option: each read lands in the unused tail
 * of the socket's current slab, and the bytes it delivers are never overwritten, so parsers and
 * writers may keep the chunk (a paused head, a queued write) exactly as they keep a 'data' Buffer.
 *
 * Why: a 'data' event costs an allocation of a fresh 64 KiB buffer per read (then a shrink) and a
 * trip through Readable's push machinery; on the upstream side of the proxy this was ~9k of the
 * ~120k instructions a request costs (bench/proxy-instructions). A slab is replaced when its tail
 * gets short, so one allocation serves dozens of small responses.
 */
const SLAB_BYTES = 16 * 1024;
/** A tail shorter than this is left unused: reads would be split into tiny pieces. */
const MIN_TAIL = 2 * 1024;

export class ReadSlab {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  /** The buffer the next read fills (Node's `onread.buffer` function form). */
  readonly next = (): Buffer => {
    if (SLAB_BYTES - this.used < MIN_TAIL) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    return this.slab.subarray(this.used);
  };

  /** Marks `length` bytes at the start of the last buffer handed out as delivered. */
  advance(length: number): void {
    this.used += length;
  }
}

/**
 * Receives one read: the bytes are `buf[0, length)`. `buf` may be longer (it is the slab's tail the
 * read landed in), which spares a Buffer object per read; consumers bound their work by `length`.
 */
export type ReadHandler = (buf: Buffer, length: number) => void;

/** The bytes of one read as a Buffer of their own size, for code that keeps or re-emits them. */
export function readBytes(buf: Buffer, length: number): Buffer {
  return length === buf.length ? buf : buf.subarray(0, length);
}

/** Node's `onread` option (buffer and callback) for reads into a fresh ReadSlab, each handed to `onData`. */
export function slabReads(onData: ReadHandler): { buffer: () => Buffer; callback: (length: number, buf: Uint8Array) => boolean } {
  const slab = new ReadSlab();
  return {
    buffer: slab.next,
    callback: (length: number, buf: Uint8Array): boolean => {
      slab.advance(length);
      // `buf` is the Buffer next() handed out for this read.
      onData(buf as Buffer, length);
      return true;
    },
  };
}
