/**
 * The PIN pad side of TDES DUKPT (ANSI X9.24-1:2009 Annex A): the device never keeps
 * its IPEK. At load it fills up to 21 future key registers from the IPEK and erases
 * it; each transaction uses the register of the counter's lowest one-bit, derives the
 * future keys below that bit from it, erases it, and moves the counter on. A stolen
 * device therefore cannot recompute keys of past transactions.
 *
 * The host side (dukpt-tdes.ts: deriveTdesKeys) reaches the same key from the BDK.
 */
import { PosError } from '../../config/errors.js';
import { toBytes, wipe, type HexOrBuffer } from './bytes.js';
import {
  countOneBits,
  initialKsn,
  nonReversibleKeyGeneration,
  TDES_COUNTER_BITS,
  TDES_COUNTER_MASK,
  TDES_MAX_COUNTER_ONE_BITS,
  tdesWorkingKeys,
  withTdesCounter,
  type TdesKsn,
  type TdesWorkingKeys,
} from './dukpt-tdes.js';

export class TdesDukptDevice {
  /** futureKeys[b] holds the key for counter (base | 1 << b); null once used or erased. */
  private readonly futureKeys: Array<Buffer | null> = new Array<Buffer | null>(TDES_COUNTER_BITS).fill(null);
  private counter = 0;
  private exhausted = false;

  private constructor(private readonly baseKsn: TdesKsn) {}

  /**
   * Loads the IPEK for the device's KSN (its counter bits are ignored). The device keeps
   * only the 21 future keys derived from it; the caller should wipe its own IPEK copy.
   */
  static load(ipekInput: HexOrBuffer, ksn: TdesKsn): TdesDukptDevice {
    const ipek = toBytes(ipekInput, 'IPEK', [16], 'CODPOS_CRYPTO_KEY_LENGTH');
    const device = new TdesDukptDevice(initialKsn(ksn));
    for (let b = TDES_COUNTER_BITS - 1; b >= 0; b--) device.futureKeys[b] = device.derive(ipek, 1 << b);
    wipe(ipek); // our copy: the device keeps future keys only
    device.counter = 1;
    return device;
  }

  /** The KSN the next transaction will use. */
  get ksn(): TdesKsn {
    return withTdesCounter(this.baseKsn, this.counter);
  }

  /** How many future key registers hold a key (never more than 21). */
  get keysHeld(): number {
    return this.futureKeys.filter((k) => k !== null).length;
  }

  /**
   * The KSN and working keys of one transaction; the device then moves to the next
   * counter. After the last valid counter (1FF800) it is exhausted: CODPOS_CRYPTO_KSN_EXHAUSTED.
   */
  nextTransaction(): { ksn: TdesKsn; keys: TdesWorkingKeys } {
    if (this.exhausted)
      throw new PosError('CODPOS_CRYPTO_KSN_EXHAUSTED', 'the TDES DUKPT device is exhausted: load a new initial key');
    const lowest = 31 - Math.clz32(this.counter & -this.counter);
    const current = this.futureKeys[lowest];
    if (!current)
      throw new PosError(
        'CODPOS_INTERNAL_DUKPT_REGISTER',
        `future key register ${lowest} is empty at counter ${this.counter.toString(16)}`,
      );
    const ksn = this.ksn;
    const keys = tdesWorkingKeys(current);
    this.newKey(lowest, current);
    return { ksn, keys };
  }

  /** X9.24-1 "New Key": refill the registers below the used bit, erase it, advance. */
  private newKey(lowest: number, current: Buffer): void {
    if (countOneBits(this.counter) < TDES_MAX_COUNTER_ONE_BITS) {
      for (let b = lowest - 1; b >= 0; b--) this.futureKeys[b] = this.derive(current, this.counter | (1 << b));
      this.futureKeys[lowest] = null;
      wipe(current);
      this.counter += 1;
    } else {
      // Ten one-bits: no key below this one may be made; skip to the next usable counter.
      this.futureKeys[lowest] = null;
      wipe(current);
      this.counter += 1 << lowest;
    }
    if (this.counter > TDES_COUNTER_MASK) {
      this.exhausted = true;
      this.counter = 0;
    }
  }

  private derive(key: Buffer, counter: number): Buffer {
    return nonReversibleKeyGeneration(key, withTdesCounter(this.baseKsn, counter).subarray(2, 10));
  }
}
