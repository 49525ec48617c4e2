/** The card reader link: length-prefixed binary frames with LRC, ACK/NAK, three tries. */
import { AckNakLink } from '../link/ack-nak.js';
import { LengthPrefixFramer, encodeLengthPrefixed } from '../framing/length-prefix.js';
import type { Transport } from '../transport/transport.js';

export const READER_MAX_PAYLOAD = 300;

export function readerLink(transport: Transport, name: string, ackTimeoutMs = 1000): AckNakLink {
  const framer = new LengthPrefixFramer({ sync: 0x02, lengthBytes: 2, maxLength: READER_MAX_PAYLOAD });
  return new AckNakLink(transport, {
    name,
    ackTimeoutMs,
    decode: (chunk) => framer.push(chunk).map((event) => (event.type === 'bad-frame' ? { type: 'bad' } : event)),
  });
}

export function readerFrame(payload: Buffer): Buffer {
  return encodeLengthPrefixed(payload, { sync: 0x02, lengthBytes: 2 });
}
