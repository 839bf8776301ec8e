/** What reflection needs of a serialized google.protobuf.FileDescriptorProto: its name and its imports. */
export interface FileDescriptorHeader {
  name: string;
  dependencies: string[];
}

/** Reads fields 1 (name) and 3 (dependency) of a FileDescriptorProto, skipping the rest. */
export function readFileDescriptorHeader(bytes: Buffer): FileDescriptorHeader {
  const out: FileDescriptorHeader = { name: '', dependencies: [] };
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= bytes.length) throw new Error('truncated FileDescriptorProto');
      const b = bytes[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        varint();
        break;
      case 1:
        i += 8;
        break;
      case 5:
        i += 4;
        break;
      case 2: {
        const len = varint();
        const text = () => bytes.toString('utf8', i, i + len);
        if (field === 1) out.name = text();
        else if (field === 3) out.dependencies.push(text());
        i += len;
        break;
      }
      default:
        throw new Error(`unsupported wire type in FileDescriptorProto (key ${key})`);
    }
  }
  return out;
}

/** A google.protobuf.FileDescriptorSet of these files: each one field 1, length-delimited. */
export function fileDescriptorSet(files: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const len: number[] = [];
    let n = f.length;
    while (n >= 0x80) {
      len.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    len.push(n);
    parts.push(Buffer.from([0x0a, ...len]), f);
  }
  return Buffer.concat(parts);
}
