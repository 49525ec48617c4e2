/**
 * `codpos decode iso8583 HEX` and `codpos encode iso8583`: a technician's view of
 * captured host traffic, masked unless --unmask, and a way to build test messages.
 * Bad input exits 2 with the field and byte offset (PosError area ISO8583).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import type { Dialect, Frame, IsoJsonFields, Tpdu } from '../../../emv/iso8583/index.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';

/**
 * The codec loads only when one of these commands runs: every `codpos` run imports every
 * command module. The names below are checked against the codec's own lists by
 * test/scripts/iso8583-cli.test.ts.
 */
const codec = () => import('../../../emv/iso8583/index.js');
type Codec = Awaited<ReturnType<typeof codec>>;
const DIALECT_NAMES = 'pos87b, iso87b, iso87a, iso93b';
const FRAMINGS = 'none|len2|len2-tpdu|bcd2|bcd2-tpdu|ascii4';

export const order = 40;

interface DecodeOptions {
  dialect: string;
  framing: string;
  privateHeader?: string;
  json?: boolean;
  unmask?: boolean;
}

interface EncodeOptions {
  dialect: string;
  framing: string;
  privateHeader?: string;
  json?: boolean;
}

export function register(program: Command): void {
  groupCommand(program, 'decode', 'decode captured ISO 8583, TLV or track data (card data masked)')
    .command('iso8583')
    .description('print the MTI and every field of an ISO 8583 message with its name, masked unless --unmask')
    .argument('<hex>', 'the message (or frame) as hex; spaces allowed')
    .option('--dialect <name>', `field layout: ${DIALECT_NAMES}`, 'pos87b')
    .option('--framing <name>', `what wraps the message: ${FRAMINGS}`, 'none')
    .option('--private-header <bytes>', 'bytes of private header after the TPDU (framed input only)')
    .option('--json', 'one JSON object: {"mti", "fields", "tpdu"?}')
    .option('--unmask', 'show PAN, track data, PIN block and ICC data in clear (lab use only)')
    .action(action(async (hex: string, options: DecodeOptions) => decodeCommand(await codec(), hex, options)));

  groupCommand(program, 'encode', 'build messages from JSON')
    .command('iso8583')
    .description(
      'read {"mti":"0200","fields":{"2":"4761...","52":"0123...","55":"9F02..."}} on stdin and print the message as hex',
    )
    .requiredOption('--dialect <name>', `field layout: ${DIALECT_NAMES}`)
    .option(
      '--framing <name>',
      `what wraps the message: ${FRAMINGS}; a TPDU comes from "tpdu" ("6000100000") in the JSON`,
      'none',
    )
    .option(
      '--private-header <bytes>',
      'bytes of private header after the TPDU; its bytes come from "privateHeader" (hex) in the JSON',
    )
    .option('--json', 'one JSON object: {"hex", "bytes"}')
    .action(action(async (options: EncodeOptions) => encodeCommand(await codec(), options)));
}

function decodeCommand(iso: Codec, hexArgument: string, options: DecodeOptions): void {
  const dialect = iso.getDialect(options.dialect);
  const framing = framingOptions(iso, options.framing, options.privateHeader);
  const input = iso.hexToBytes(hexArgument.replace(/\s+/g, ''), 'the HEX argument');
  const frame: Frame =
    framing.lengthHeader === 'none' && !framing.tpdu && framing.privateHeaderLength === 0
      ? { message: input }
      : iso.unframeMessage(input, framing);
  const frameHeaderBytes = input.length - frame.message.length;
  let message;
  try {
    message = iso.decodeIso8583(frame.message, dialect);
  } catch (error) {
    throw frameHeaderBytes > 0 ? withFrameNote(error, frameHeaderBytes) : error;
  }
  const shown = options.unmask ? iso.messageToJson(message) : iso.maskedMessageJson(message);
  if (options.json) {
    printJson({
      dialect: dialect.name,
      ...(frame.tpdu ? { tpdu: frame.tpdu } : {}),
      ...(frame.privateHeader ? { privateHeader: frame.privateHeader.toString('hex').toUpperCase() } : {}),
      ...shown,
    });
    return;
  }
  const lines = [`dialect ${dialect.name}${options.unmask ? '' : ' (card data masked; --unmask to show)'}`];
  if (frame.tpdu)
    lines.push(
      `TPDU    id ${frame.tpdu.id}, destination NII ${frame.tpdu.destination}, source NII ${frame.tpdu.source}`,
    );
  if (frame.privateHeader) lines.push(`header  ${frame.privateHeader.toString('hex').toUpperCase()}`);
  lines.push(`MTI     ${shown.mti}`);
  lines.push(...fieldLines(iso, shown.fields, dialect, ''));
  printLines(lines);
}

/** One line per field: number, name, value; subfields indented under their parent. */
function fieldLines(iso: Codec, fields: IsoJsonFields, dialect: Dialect, prefix: string): string[] {
  const set = subfieldSet(iso, dialect, prefix);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const spec = set?.fields[Number(key)];
    const label = `${(prefix + key).padStart(prefix ? 7 : 3)}  ${(spec?.name ?? '').padEnd(44)}`;
    if (typeof value === 'string') lines.push(`${label}  ${value}`);
    else lines.push(label.trimEnd(), ...fieldLines(iso, value, dialect, `${prefix}${key}.`));
  }
  return lines;
}

function subfieldSet(iso: Codec, dialect: Dialect, prefix: string) {
  let set = iso.compileDialect(dialect).body;
  for (const part of prefix.split('.').filter(Boolean)) set = set.fields[Number(part)]?.sub ?? set;
  return set;
}

function encodeCommand(iso: Codec, options: EncodeOptions): void {
  const dialect = iso.getDialect(options.dialect);
  const framing = framingOptions(iso, options.framing, options.privateHeader);
  const text = readFileSync(0, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PosError(
      'CODPOS_USAGE_BAD_JSON',
      `codpos encode iso8583: stdin is not JSON (${(error as Error).message})`,
    );
  }
  const message = iso.messageFromJson(json, dialect);
  let bytes = iso.encodeIso8583(message, dialect);
  const resolved = iso.resolveFraming(framing);
  if (resolved.lengthBytes > 0 || resolved.headerBytes > 0) {
    const extra = json as { tpdu?: unknown; privateHeader?: unknown };
    bytes = iso.frameMessage(bytes, resolved, {
      ...(resolved.tpdu ? { tpdu: tpduFromJson(extra.tpdu) } : {}),
      ...(resolved.privateHeaderLength > 0
        ? {
            privateHeader: iso.hexToBytes(
              typeof extra.privateHeader === 'string' ? extra.privateHeader : '',
              'privateHeader',
            ),
          }
        : {}),
    });
  }
  const hex = bytes.toString('hex').toUpperCase();
  if (options.json) printJson({ hex, bytes: bytes.length });
  else printLines([hex]);
}

function framingOptions(iso: Codec, name: string, privateHeader: string | undefined) {
  const preset = iso.framingPreset(name);
  if (privateHeader === undefined) return iso.resolveFraming(preset);
  const length = Number(privateHeader);
  if (!Number.isInteger(length) || length < 0)
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `--private-header must be a number of bytes, not ${JSON.stringify(privateHeader)}`,
    );
  return iso.resolveFraming({ ...preset, privateHeaderLength: length });
}

function tpduFromJson(value: unknown): Tpdu {
  if (typeof value !== 'string' || !/^[0-9A-Fa-f]{10}$/.test(value)) {
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      'this framing has a TPDU: give it as "tpdu": "6000100000" (id 60, destination NII, source NII) in the JSON',
    );
  }
  const hex = value.toUpperCase();
  return { id: hex.slice(0, 2), destination: hex.slice(2, 6), source: hex.slice(6, 10) };
}

/** Decoding offsets count from the message; say so when a frame header came first. */
function withFrameNote(error: unknown, headerBytes: number): unknown {
  if (!(error instanceof PosError)) return error;
  return new PosError(
    error.code,
    `${error.message} (offsets count from the message, after the ${headerBytes}-byte frame header)`,
    {
      ...(error.details ? { details: { ...error.details, frameHeaderBytes: headerBytes } } : {}),
      cause: error,
    },
  );
}
