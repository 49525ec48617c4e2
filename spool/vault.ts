/**
 * Sealing of card data at rest (PCI DSS v4 req. 3.5): the PAN, and before
 * authorization the track-2 equivalent data and PIN block, are sealed with
 * AES-256-GCM under a 32-byte data key. The record id and the field name are the
 * associated data, so a sealed value copied onto another record or column fails
 * to open instead of decrypting as the wrong thing.
 *
 * The data key comes from a KeyProvider: a key file with mode 0600 (created when
 * absent), or a secure element that unwraps it. It never comes from, or goes
 * into, the database; the database keeps only a key check value so that opening
 * a spool with the wrong key is a clear error rather than garbage.
 *
 * Sealed layout: version (1 byte, 0x01) | IV (12) | GCM tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import { PosError } from '../config/errors.js';

export const DATA_KEY_BYTES = 32;
const FORMAT_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where the data key comes from: a file, or a secure element that unwraps it. */
export interface KeyProvider {
  /** Where the key lives, for messages (never the key itself). */
  readonly description: string;
  loadDataKey(): Buffer | Promise<Buffer>;
}

export class Vault {
  private readonly key: Buffer;

  private constructor(key: Buffer) {
    if (key.length !== DATA_KEY_BYTES) {
      throw new PosError(
        'CODPOS_SPOOL_KEY_INVALID',
        `the vault data key must be ${DATA_KEY_BYTES} bytes, got ${key.length}`,
      );
    }
    this.key = Buffer.from(key);
  }

  static async fromProvider(provider: KeyProvider): Promise<Vault> {
    const key = await provider.loadDataKey();
    try {
      return new Vault(key);
    } finally {
      key.fill(0);
    }
  }

  /** For callers that already hold the key (tests, benchmarks); the buffer is copied. */
  static fromKey(key: Buffer): Vault {
    return new Vault(key);
  }

  seal(recordId: string, field: string, plaintext: Buffer | string): Buffer {
    const clear = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associatedData(recordId, field));
    const body = Buffer.concat([cipher.update(clear), cipher.final()]);
    if (typeof plaintext === 'string') clear.fill(0);
    return Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), body]);
  }

  open(recordId: string, field: string, sealed: Buffer): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT_V1) {
      throw new PosError('CODPOS_SPOOL_UNSEAL', `sealed ${field} of record ${recordId} has an unknown format`, {
        details: { recordId, field },
      });
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(associatedData(recordId, field));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new PosError(
        'CODPOS_SPOOL_UNSEAL',
        `sealed ${field} of record ${recordId} does not open with this data key (wrong key, or the value was altered or moved)`,
        {
          cause: error,
          details: { recordId, field },
        },
      );
    }
  }

  openText(recordId: string, field: string, sealed: Buffer): string {
    const clear = this.open(recordId, field, sealed);
    try {
      return clear.toString('utf8');
    } finally {
      clear.fill(0);
    }
  }

  /** Identifies the key without revealing it (HMAC of a fixed label), kept in the database. */
  keyCheckValue(): string {
    return createHmac('sha256', this.key).update('codpos vault key check').digest('hex').slice(0, 16);
  }

  /** Overwrites the key in memory (at shutdown). */
  destroy(): void {
    this.key.fill(0);
  }
}

function associatedData(recordId: string, field: string): Buffer {
  return Buffer.from(`codpos.vault.v1\0${recordId}\0${field}`, 'utf8');
}

/** How a FileKeyProvider tells a first start from a key that went missing. */
export interface FileKeyOptions {
  /**
   * The spool database the key seals. When it already exists, an absent key file is
   * reported missing (CODPOS_SPOOL_KEY_MISSING) instead of created afresh: a new key could
   * only be refused as a mismatch, and would hide that the real key was deleted.
   */
  sealedDatabase?: string;
}

/**
 * The data key in a file of exactly 32 bytes with mode 0600. Created (0600, in a
 * 0700 directory) when absent on a first start; a key file readable by group or others,
 * or one that is a symbolic link, is refused.
 */
export class FileKeyProvider implements KeyProvider {
  readonly description: string;

  constructor(
    private readonly file: string,
    private readonly options: FileKeyOptions = {},
  ) {
    this.description = `key file ${file}`;
  }

  loadDataKey(): Buffer {
    let fd: number;
    try {
      // O_NOFOLLOW: a link would let whoever can write the directory point the key elsewhere.
      // O_NONBLOCK: a FIFO in the key's place opens at once (and is refused) instead of waiting.
      fd = openSync(this.file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') {
        throw new PosError(
          'CODPOS_SPOOL_KEY_INVALID',
          `key file ${this.file} is a symbolic link; the key must be a regular file (replace the link with the key itself)`,
          { details: { file: this.file } },
        );
      }
      if (code !== 'ENOENT') throw unreadable(this.file, error);
      if (this.options.sealedDatabase !== undefined && existsSync(this.options.sealedDatabase)) {
        throw new PosError(
          'CODPOS_SPOOL_KEY_MISSING',
          `key file ${this.file} is missing, but spool database ${this.options.sealedDatabase} exists and its sealed card data needs that key; restore the key file from its backup`,
          { details: { file: this.file, database: this.options.sealedDatabase } },
        );
      }
      return this.create();
    }
    try {
      return readKey(fd, this.file);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes the new key to a temporary file and links it into place only once it is
   * complete on disk: a crash mid-way never leaves a short key file behind, and a
   * key another process created meanwhile is never overwritten (link fails with EEXIST).
   */
  private create(): Buffer {
    const key = randomBytes(DATA_KEY_BYTES);
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        writeSync(fd, key);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(temporary, this.file);
      } finally {
        rmSync(temporary, { force: true });
      }
      const dirFd = openSync(dirname(this.file), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch (error) {
      key.fill(0);
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return this.loadDataKey();
      throw new PosError(
        'CODPOS_SPOOL_KEY_CREATE',
        `cannot create key file ${this.file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        { cause: error },
      );
    }
    return key;
  }
}

/** The key from an open key file: a regular file, owner-only, of exactly 32 bytes. */
function readKey(fd: number, file: string): Buffer {
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch (error) {
    throw unreadable(file, error);
  }
  if (!stat.isFile())
    throw new PosError('CODPOS_SPOOL_KEY_INVALID', `key file ${file} is not a regular file`, { details: { file } });
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new PosError(
      'CODPOS_SPOOL_KEY_PERMISSIONS',
      `key file ${file} has mode ${mode.toString(8).padStart(4, '0')}: group or others may read it; run "chmod 600 ${file}" (and check who copied it)`,
      { details: { file, mode: mode.toString(8) } },
    );
  }
  let key: Buffer;
  try {
    key = readFileSync(fd);
  } catch (error) {
    throw unreadable(file, error);
  }
  if (key.length !== DATA_KEY_BYTES) {
    key.fill(0);
    throw new PosError(
      'CODPOS_SPOOL_KEY_INVALID',
      `key file ${file} must hold exactly ${DATA_KEY_BYTES} bytes, it holds ${key.length}`,
      { details: { file } },
    );
  }
  return key;
}

function unreadable(file: string, error: unknown): PosError {
  return new PosError(
    'CODPOS_SPOOL_KEY_UNREADABLE',
    `cannot read key file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    { cause: error },
  );
}
