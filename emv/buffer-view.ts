/**
 * Cheap Buffer views for the decoders (emv/tlv, emv/iso8583), whose values are views
 * into the input rather than copies.
 *
 * `Buffer#subarray` goes through the species lookup (Buffer is not a class, so every
 * view is made by the Buffer function's slow path); it was 80% of the time of decoding
 * a TLV record. A Uint8Array subclass whose prototype chain runs through
 * Buffer.prototype gives the same object — `Buffer.isBuffer` is true, every Buffer
 * method works — with one typed-array constructor call, at about half the cost.
 */
class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype as Buffer);

/** A view of data[start, end): shares memory with `data` (copy it if `data` will be reused). */
export function bufferView(data: Buffer, start: number, end: number): Buffer {
  return new BufferView(data.buffer as ArrayBuffer, data.byteOffset + start, end - start) as unknown as Buffer;
}

/** A view of `length` bytes of `arrayBuffer` from `byteOffset`, for callers that hold the ArrayBuffer already. */
export function viewOf(arrayBuffer: ArrayBufferLike, byteOffset: number, length: number): Buffer {
  return new BufferView(arrayBuffer as ArrayBuffer, byteOffset, length) as unknown as Buffer;
}

/**
 * A new zero-filled Buffer of `length` bytes with its own memory. For the small values
 * decoders make (a PIN block, a MAC) this is about half the cost of Buffer.allocUnsafe,
 * which cuts from Node's shared pool through the same slow path as subarray.
 */
export function newBuffer(length: number): Buffer {
  return new BufferView(length) as unknown as Buffer;
}
