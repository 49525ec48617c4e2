/**
 * `codpos lab dukpt|pinblock|kcv`: certification and host-testing tools over
 * emv/crypto. They print keys, PINs and PIN blocks in clear on purpose: they exist
 * for TEST keys (lab BDKs, test cards) and must never be fed production keys.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { hexUpper } from '../../../emv/crypto/bytes.js';
import { deriveIpek, deriveTdesKeys, parseTdesKsn, tdesKsnCounter } from '../../../emv/crypto/dukpt-tdes.js';
import {
  aesKsnCounter,
  deriveAesInitialKey,
  deriveAesKeys,
  parseAesKsn,
  type AesDerivationKeyType,
} from '../../../emv/crypto/dukpt-aes.js';
import { checkFormat, decodePinBlock, encodePinBlock } from '../../../emv/crypto/pin-block.js';
import { kcv } from '../../../emv/crypto/primitives.js';
import { action, printJson, printLines } from '../output.js';

export const order = 70;

const LAB_WARNING =
  'Lab tool for TEST keys only: it prints keys, PINs and PIN blocks in clear. Never give it production keys.';

interface KeyLine {
  /** JSON key (lowercase with underscores). */
  name: string;
  label: string;
  key: Buffer;
}

function keyReport(lines: KeyLine[], algorithm: 'tdes' | 'aes'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    out[line.name] = hexUpper(line.key);
    out[`${line.name}_kcv`] = hexUpper(kcv(line.key, { algorithm }));
  }
  return out;
}

function printKeyLines(header: string[], lines: KeyLine[], algorithm: 'tdes' | 'aes'): void {
  const width = Math.max(...lines.map((l) => l.label.length), ...header.map((h) => h.indexOf(' ')));
  printLines([
    ...header,
    ...lines.map((l) => `${l.label.padEnd(width)}  ${hexUpper(l.key)}  KCV ${hexUpper(kcv(l.key, { algorithm }))}`),
    '',
    LAB_WARNING,
  ]);
}

function parseKeyType(value: string | undefined): AesDerivationKeyType | undefined {
  if (value === undefined) return undefined;
  if (value === 'aes128' || value === 'aes256' || value === 'aes192') return value;
  throw new PosError('CODPOS_USAGE_OPTION', `--key-type must be aes128, aes192 or aes256 (got ${value})`, {
    details: { option: '--key-type' },
  });
}

interface DukptOptions {
  bdk: string;
  ksn: string;
  aes?: boolean;
  keyType?: string;
  json?: boolean;
}

function runDukpt(opts: DukptOptions): void {
  if (!opts.aes) {
    if (opts.keyType !== undefined)
      throw new PosError('CODPOS_USAGE_OPTION', '--key-type applies to AES DUKPT only: add --aes', {
        details: { option: '--key-type' },
      });
    const ksn = parseTdesKsn(opts.ksn);
    const counter = tdesKsnCounter(ksn);
    let lines: KeyLine[];
    if (counter === 0) {
      // The initial KSN names the IPEK loaded into the PIN pad, not a transaction key.
      lines = [{ name: 'ipek', label: 'IPEK', key: deriveIpek(opts.bdk, ksn) }];
    } else {
      const keys = deriveTdesKeys(opts.bdk, ksn);
      lines = [
        { name: 'ipek', label: 'IPEK', key: keys.ipek },
        { name: 'transaction_key', label: 'transaction key', key: keys.transactionKey },
        { name: 'pin_key', label: 'PIN key', key: keys.pinKey },
        { name: 'mac_key', label: 'MAC key (request)', key: keys.macKey },
        { name: 'mac_response_key', label: 'MAC key (response)', key: keys.macResponseKey },
        { name: 'data_key', label: 'data key (request)', key: keys.dataKey },
        { name: 'data_response_key', label: 'data key (response)', key: keys.dataResponseKey },
      ];
    }
    if (opts.json) printJson({ algorithm: 'tdes', ksn: hexUpper(ksn), counter, ...keyReport(lines, 'tdes') });
    else
      printKeyLines([`TDES DUKPT (ANSI X9.24-1:2009)`, `KSN ${hexUpper(ksn)} (counter ${counter})`, ''], lines, 'tdes');
    return;
  }
  const keyType = parseKeyType(opts.keyType);
  const ksn = parseAesKsn(opts.ksn);
  const counter = aesKsnCounter(ksn);
  let lines: KeyLine[];
  if (counter === 0) {
    lines = [{ name: 'initial_key', label: 'initial key', key: deriveAesInitialKey(opts.bdk, ksn, keyType) }];
  } else {
    const keys = deriveAesKeys(opts.bdk, ksn, keyType);
    lines = [
      { name: 'initial_key', label: 'initial key', key: keys.initialKey },
      { name: 'transaction_key', label: 'transaction key', key: keys.transactionKey },
      { name: 'pin_key', label: 'PIN key', key: keys.pinKey },
      { name: 'mac_key', label: 'MAC key (generate)', key: keys.macKey },
      { name: 'mac_verify_key', label: 'MAC key (verify)', key: keys.macVerifyKey },
      { name: 'data_key', label: 'data key (encrypt)', key: keys.dataKey },
      { name: 'data_decrypt_key', label: 'data key (decrypt)', key: keys.dataDecryptKey },
    ];
  }
  const type = keyType ?? (lines[0]!.key.length === 32 ? 'aes256' : lines[0]!.key.length === 24 ? 'aes192' : 'aes128');
  if (opts.json)
    printJson({ algorithm: 'aes', key_type: type, ksn: hexUpper(ksn), counter, ...keyReport(lines, 'aes') });
  else
    printKeyLines(
      [
        `AES DUKPT (ANSI X9.24-3-2017), ${type}`,
        `KSN ${hexUpper(ksn)} (initial key ID ${hexUpper(ksn.subarray(0, 8))}, counter ${counter})`,
        '',
      ],
      lines,
      'aes',
    );
}

function parseFormatOption(value: string): 0 | 1 | 3 | 4 {
  if (!/^[0-9]$/.test(value))
    throw new PosError('CODPOS_USAGE_OPTION', `--format must be 0, 1, 3 or 4 (got ${value})`, {
      details: { option: '--format' },
    });
  return checkFormat(Number(value));
}

export function register(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'DUKPT, PIN block and KCV tools for certification and host testing (TEST keys only: prints keys in clear)',
    )
    .addHelpText('after', `\n${LAB_WARNING}`);

  lab
    .command('dukpt')
    .description(
      'derive the DUKPT keys of a KSN: IPEK (or AES initial key), transaction key, PIN, MAC and data keys, with KCVs',
    )
    .requiredOption('--bdk <hex>', 'base derivation key (TDES: 16 bytes; AES: 16 or 32 bytes)')
    .requiredOption('--ksn <hex>', 'key serial number (TDES: 10 bytes; AES: 12 bytes = initial key ID + counter)')
    .option('--aes', 'AES DUKPT (ANSI X9.24-3-2017) instead of TDES (X9.24-1:2009)')
    .option('--key-type <type>', 'AES BDK type: aes128, aes192 or aes256 (default: from the BDK length)')
    .option('--json', 'one JSON object: lowercase keys (ipek, pin_key, mac_key, data_key, ..._kcv), uppercase hex')
    .addHelpText('after', `\n${LAB_WARNING}`)
    .action(action((opts: DukptOptions) => runDukpt(opts)));

  const pinblock = lab
    .command('pinblock')
    .description('encode or decode ISO 9564-1 PIN blocks (formats 0, 1, 3, 4)')
    .addHelpText('after', `\n${LAB_WARNING}`);

  pinblock
    .command('encode')
    .description('build a PIN block; with --key, encrypt it (TDES for formats 0/1/3, AES for format 4)')
    .requiredOption('--format <n>', 'ISO 9564-1 format: 0, 1, 3 or 4')
    .requiredOption('--pin <digits>', 'PIN, 4 to 12 digits')
    .option('--pan <digits>', 'PAN (formats 0, 3 and 4)')
    .option('--key <hex>', 'PIN encryption key (required for format 4)')
    .option(
      '--fill <hex>',
      'fill instead of random digits (formats 1, 3: 14 minus PIN length digits; format 4: 16 digits)',
    )
    .option('--json', 'one JSON object: format, pin_block, encrypted')
    .addHelpText('after', `\n${LAB_WARNING}`)
    .action(
      action((opts: { format: string; pin: string; pan?: string; key?: string; fill?: string; json?: boolean }) => {
        const format = parseFormatOption(opts.format);
        const block = encodePinBlock({ format, pin: opts.pin, pan: opts.pan, key: opts.key, fill: opts.fill });
        const encrypted = opts.key !== undefined;
        if (opts.json) printJson({ format, pin_block: hexUpper(block), encrypted });
        else
          printLines([
            `PIN block (ISO 9564-1 format ${format}, ${encrypted ? 'encrypted' : 'clear'})  ${hexUpper(block)}`,
          ]);
      }),
    );

  pinblock
    .command('decode')
    .description('read the PIN out of a PIN block; with --key, decrypt it first')
    .requiredOption('--format <n>', 'ISO 9564-1 format: 0, 1, 3 or 4')
    .requiredOption('--block <hex>', 'PIN block (8 bytes; 16 for format 4)')
    .option('--pan <digits>', 'PAN (formats 0, 3 and 4)')
    .option('--key <hex>', 'PIN encryption key (required for format 4)')
    .option('--json', 'one JSON object: format, pin')
    .addHelpText('after', `\n${LAB_WARNING}`)
    .action(
      action((opts: { format: string; block: string; pan?: string; key?: string; json?: boolean }) => {
        const format = parseFormatOption(opts.format);
        const pin = decodePinBlock({ format, block: opts.block, pan: opts.pan, key: opts.key });
        if (opts.json) printJson({ format, pin });
        else printLines([`PIN  ${pin}`]);
      }),
    );

  lab
    .command('kcv')
    .description('key check value: TDES E_K(0), or with --aes the AES-CMAC of a zero block (X9.24-1:2017)')
    .requiredOption('--key <hex>', 'the key (TDES 8/16/24 bytes; AES 16/24/32 bytes)')
    .option('--aes', 'the key is an AES key')
    .option('--json', 'one JSON object: kcv')
    .addHelpText('after', `\n${LAB_WARNING}`)
    .action(
      action((opts: { key: string; aes?: boolean; json?: boolean }) => {
        const value = hexUpper(kcv(opts.key, { algorithm: opts.aes ? 'aes' : 'tdes' }));
        if (opts.json) printJson({ kcv: value });
        else printLines([`KCV  ${value}`]);
      }),
    );
}
