/**
 * `codpos decode qr PAYLOAD`: read an EMV QR payment code the way a technician needs it. A
 * merchant-presented code (MPM) shows every data object by ID and name, templates indented, and
 * the CRC verdict; a consumer-presented code (CPM) shows its TLV with card data masked unless
 * --unmask; a wallet token shows its length and last four characters. A fault is the PosError
 * naming the first one (exit 2).
 */
import type { Command } from 'commander';
import { maskPanForReceipt } from '../../../config/masking.js';
import {
  CPM_TAG_NAMES,
  mpmInnerTagName,
  mpmTagName,
  parseConsumerCode,
  parseMpm,
  type ConsumerCode,
  type MpmDataObject,
  type MpmPayload,
} from '../../../emv/qr/index.js';
import { describeTlv, formatDescribed, type DescribedTlv } from '../../../emv/tags/index.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';

export const order = 41;

interface DescribedObject {
  id: string;
  name: string;
  length: number;
  value: string;
  meaning?: string;
  children?: DescribedObject[];
}

/** A consumer code starts "hQ" (CPM) or is a bare token; anything else is read as MPM. */
function looksLikeConsumerCode(text: string): boolean {
  return !text.startsWith('000201') && (text.startsWith('hQ') || /^[0-9A-Za-z]{16,32}$/.test(text));
}

function meaningOf(object: MpmDataObject, parsed: MpmPayload): string | undefined {
  switch (object.id) {
    case '01':
      return parsed.pointOfInitiation;
    case '54':
      return `${parsed.amountMinor} minor units of currency ${parsed.currency}`;
    case '55':
      return parsed.tipIndicator;
    case '63':
      return 'CRC ok';
    default:
      return undefined;
  }
}

function describeObject(object: MpmDataObject, name: string, parentPath: string, parsed: MpmPayload): DescribedObject {
  const out: DescribedObject = { id: object.id, name, length: Array.from(object.value).length, value: object.value };
  const meaning = parentPath === '' ? meaningOf(object, parsed) : undefined;
  if (meaning !== undefined) out.meaning = meaning;
  if (object.children !== undefined) {
    const path = parentPath === '' ? object.id : `${parentPath}.${object.id}`;
    // Inside 62, a 50-99 template's own objects are named like a merchant account's (00 = GUI).
    const namer = parentPath === '' ? object.id : '26';
    out.children = object.children.map((child) =>
      describeObject(child, mpmInnerTagName(namer, child.id), path, parsed),
    );
  }
  return out;
}

function formatObjects(objects: DescribedObject[], indent = ''): string[] {
  const lines: string[] = [];
  for (const object of objects) {
    const head = `${indent}${object.id} ${object.name} (${object.length})`;
    if (object.children !== undefined) {
      lines.push(head);
      lines.push(...formatObjects(object.children, `${indent}  `));
    } else {
      lines.push(`${head}: ${object.value}${object.meaning !== undefined ? `  = ${object.meaning}` : ''}`);
    }
  }
  return lines;
}

/** CPM tags 85, 62, 63 and 64 mean something else in the card dictionary: name them as CPM does. */
function renameCpmTags(items: DescribedTlv[]): DescribedTlv[] {
  return items.map((item) => ({
    ...item,
    name: CPM_TAG_NAMES[item.tag] ?? item.name,
    // The payload format indicator is text ("CPV01"); the card dictionary does not know tag 85 as such.
    ...(item.tag === '85' && item.value !== undefined
      ? { text: Buffer.from(item.value, 'hex').toString('latin1') }
      : {}),
    ...(item.children !== undefined ? { children: renameCpmTags(item.children) } : {}),
  }));
}

function decodeConsumer(code: ConsumerCode, opts: { json?: boolean; unmask?: boolean }): void {
  if (code.kind === 'token') {
    const token = opts.unmask ? code.token : maskPanForReceipt(code.token);
    if (opts.json) printJson({ kind: 'token', length: code.token.length, token });
    else printLines([`wallet token (${code.token.length} characters): ${token}`]);
    return;
  }
  const tlv = renameCpmTags(describeTlv(code.cpm.tlv, { unmask: opts.unmask === true }));
  if (opts.json) {
    printJson({ kind: 'cpm', payloadFormatIndicator: code.cpm.payloadFormatIndicator, tlv });
    return;
  }
  printLines([
    `CPM (consumer-presented), ${code.cpm.payloadFormatIndicator}, ${code.cpm.applications.length} application(s)`,
    ...formatDescribed(tlv),
  ]);
}

export function register(program: Command): void {
  const decode = groupCommand(program, 'decode', 'decode captured ISO 8583, TLV and track data (card data masked)');

  decode
    .command('qr')
    .description(
      'decode an EMV QR payment code: merchant-presented (MPM) by data object, or consumer-presented (CPM) or a wallet token; faults named',
    )
    .argument('<payload>', 'the QR text as scanned (quote it: it has spaces and *)')
    .option('--json', 'machine-readable output')
    .option('--unmask', 'show CPM card data and wallet tokens in clear (lab use)')
    .action(
      action((payload: string, opts: { json?: boolean; unmask?: boolean }) => {
        if (looksLikeConsumerCode(payload)) {
          decodeConsumer(parseConsumerCode(payload), opts);
          return;
        }
        const parsed = parseMpm(payload);
        const objects = parsed.objects.map((o) => describeObject(o, mpmTagName(o.id), '', parsed));
        if (opts.json) {
          const { objects: _raw, ...fields } = parsed;
          printJson({ kind: 'mpm', crc: { value: parsed.crc, ok: true }, fields, objects });
          return;
        }
        printLines([`MPM (merchant-presented), CRC ${parsed.crc} ok`, ...formatObjects(objects)]);
      }),
    );
}
