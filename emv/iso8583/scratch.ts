/**
 * The encoder's output buffer: one reusable block, grown on demand, so a message is
 * written in one pass and copied out once.
 */
export class Scratch {
  bytes: Buffer = Buffer.allocUnsafeSlow(4096);

  /** Makes room for `count` more bytes at `pos` (the bytes before `pos` are kept). */
  ensure(pos: number, count: number): Buffer {
    if (pos + count > this.bytes.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, pos + count));
      this.bytes.copy(bigger, 0, 0, pos);
      this.bytes = bigger;
    }
    return this.bytes;
  }

  /** A new Buffer holding bytes[0, length) (from Node's pool: a small message is not a malloc of its own). */
  copyOut(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    this.bytes.copy(out, 0, 0, length);
    return out;
  }
}
