/** The PIN pad link: STX..ETX data and SI..SO control packets with LRC, ACK/NAK, three tries. */
import { AckNakLink } from '../link/ack-nak.js';
import { StxEtxLrcFramer, encodeStxEtx, STX, ETX, SI, SO } from '../framing/stx-etx-lrc.js';
import type { Transport } from '../transport/transport.js';

export function pinpadLink(transport: Transport, name: string, ackTimeoutMs = 1000): AckNakLink {
  const framer = new StxEtxLrcFramer({
    packets: [
      { start: STX, end: ETX },
      { start: SI, end: SO },
    ],
  });
  return new AckNakLink(transport, {
    name,
    ackTimeoutMs,
    decode: (chunk) =>
      framer
        .push(chunk)
        .map((event) =>
          event.type === 'frame'
            ? { type: 'frame', payload: event.payload, start: event.start }
            : event.type === 'bad-lrc'
              ? { type: 'bad' }
              : event,
        ),
  });
}

export function pinpadPacket(payload: string, control: boolean): Buffer {
  return control ? encodeStxEtx(payload, SI, SO) : encodeStxEtx(payload);
}

export { SI };
