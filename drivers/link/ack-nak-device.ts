/**
 * What the card reader and PIN pad drivers share: a device on an ACK/NAK link
 * that answers one request at a time. It owns the link's life (start, stop, the
 * transport dropping) and the one answer awaited, with its deadline, so that an
 * answer, a failure, a timeout and a stop each end the wait exactly once.
 */
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import type { Transport } from '../transport/transport.js';
import type { AckNakLink } from './ack-nak.js';

export abstract class AckNakDevice<Reply, Tag extends object> extends EventEmitter {
  private awaited:
    { tag: Tag; resolve: (reply: Reply) => void; reject: (error: PosError) => void; timer: NodeJS.Timeout } | undefined;

  constructor(
    readonly transport: Transport,
    protected readonly link: AckNakLink,
    /** `card reader`, `PIN pad`: for messages. */
    private readonly deviceName: string,
  ) {
    super();
    this.link.on('frame', (payload: Buffer) => this.receive(payload));
    transport.on('close', (error) => {
      if (error) this.fail(error);
    });
  }

  async start(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async stop(): Promise<void> {
    this.fail(new PosError('CODPOS_DEVICE_CLOSED', `${this.deviceName} driver stopped`));
    this.link.detach();
    await this.transport.close();
  }

  /** A frame from the device (already ACKed by the link). */
  protected abstract receive(payload: Buffer): void;

  /** What the request being answered was tagged with (the driver's own object), if one is. */
  protected get waiting(): Tag | undefined {
    return this.awaited?.tag;
  }

  /** Waits for the answer to the request tagged `tag`; `onTimeout` runs if none comes in time. */
  protected awaitReply(tag: Tag, timeoutMs: number, onTimeout: () => void): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.awaited = { tag, resolve, reject, timer: setTimeout(onTimeout, timeoutMs) };
    });
  }

  /** Ends the wait with the device's answer. */
  protected settle(reply: Reply): void {
    this.endWait()?.resolve(reply);
  }

  /** Ends the wait with an error. */
  protected fail(error: PosError): void {
    this.endWait()?.reject(error);
  }

  private endWait(): AckNakDevice<Reply, Tag>['awaited'] {
    const awaited = this.awaited;
    if (awaited) clearTimeout(awaited.timer);
    this.awaited = undefined;
    return awaited;
  }
}
