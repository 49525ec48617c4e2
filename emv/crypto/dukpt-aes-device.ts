/**
 * The PIN pad side of AES DUKPT (ANSI X9.24-3-2017): like TDES DUKPT's future keys,
 * the device holds 32 intermediate derivation key registers filled from the initial
 * key, which it then erases; each transaction uses the register of the counter's
 * lowest one-bit, refills the registers below it, erases it and moves on. Counters
 * with more than 16 one-bits are never used.
 *
 * The host side (dukpt-aes.ts: deriveAesKeys) reaches the same keys from the BDK.
 */
import { PosError } from '../../config/errors.js';
import { toBytes, wipe, type HexOrBuffer } from './bytes.js';
import { countOneBits } from './dukpt-tdes.js';
import {
  AES_MAX_COUNTER_ONE_BITS,
  aesDerivationKeyType,
  deriveAesIntermediateKey,
  deriveAesWorkingKey,
  makeAesKsn,
  type AesDerivationKeyType,
  type AesDukptKeyType,
  type AesDukptKeys,
  type AesKsn,
} from './dukpt-aes.js';

const COUNTER_BITS = 32;

/** The host-side working keys of a transaction; the device never holds the initial key. */
export type AesDeviceKeys = Omit<AesDukptKeys, 'initialKey'>;

export class AesDukptDevice {
  private readonly registers: Array<Buffer | null> = new Array<Buffer | null>(COUNTER_BITS).fill(null);
  private counter = 0;
  private exhausted = false;

  private constructor(
    private readonly initialKeyId: Buffer,
    private readonly type: AesDerivationKeyType,
    private readonly workingKeyType: AesDukptKeyType | undefined,
  ) {}

  /**
   * Loads the initial key for the KSN's initial key ID (its counter is ignored). The
   * device keeps only the 32 intermediate keys; the caller should wipe its own copy.
   */
  static load(initialKeyInput: HexOrBuffer, ksn: AesKsn, workingKeyType?: AesDukptKeyType): AesDukptDevice {
    const initialKey = toBytes(initialKeyInput, 'initial key', [16, 24, 32], 'CODPOS_CRYPTO_KEY_LENGTH');
    const device = new AesDukptDevice(
      Buffer.from(ksn.subarray(0, 8)),
      aesDerivationKeyType(initialKey),
      workingKeyType,
    );
    for (let b = COUNTER_BITS - 1; b >= 0; b--) device.registers[b] = device.derive(initialKey, 2 ** b);
    wipe(initialKey);
    device.counter = 1;
    return device;
  }

  get ksn(): AesKsn {
    return makeAesKsn(this.initialKeyId, this.counter);
  }

  get keysHeld(): number {
    return this.registers.filter((k) => k !== null).length;
  }

  /** The KSN and working keys of one transaction; then the device moves to the next valid counter. */
  nextTransaction(): { ksn: AesKsn; keys: AesDeviceKeys } {
    if (this.exhausted)
      throw new PosError('CODPOS_CRYPTO_KSN_EXHAUSTED', 'the AES DUKPT device is exhausted: load a new initial key');
    const lowest = 31 - Math.clz32(this.counter & -this.counter);
    const current = this.registers[lowest];
    if (!current)
      throw new PosError(
        'CODPOS_INTERNAL_DUKPT_REGISTER',
        `intermediate key register ${lowest} is empty at counter ${this.counter.toString(16)}`,
      );
    const ksn = this.ksn;
    const working = (usage: Parameters<typeof deriveAesWorkingKey>[2]) =>
      deriveAesWorkingKey(current, ksn, usage, this.workingKeyType);
    const keys: AesDeviceKeys = {
      transactionKey: Buffer.from(current),
      pinKey: working('pinEncryption'),
      macKey: working('macGeneration'),
      macVerifyKey: working('macVerification'),
      dataKey: working('dataEncryptionEncrypt'),
      dataDecryptKey: working('dataEncryptionDecrypt'),
    };
    if (countOneBits(this.counter) < AES_MAX_COUNTER_ONE_BITS) {
      for (let b = lowest - 1; b >= 0; b--) this.registers[b] = this.derive(current, (this.counter | (1 << b)) >>> 0);
      this.counter += 1;
    } else {
      // Sixteen one-bits: no key below this one may be made; skip to the next usable counter.
      this.counter += 2 ** lowest;
    }
    this.registers[lowest] = null;
    wipe(current);
    if (this.counter > 0xffffffff) {
      this.exhausted = true;
      this.counter = 0;
    }
    return { ksn, keys };
  }

  private derive(parent: Buffer, counter: number): Buffer {
    return deriveAesIntermediateKey(parent, this.type, makeAesKsn(this.initialKeyId, counter), counter);
  }
}
