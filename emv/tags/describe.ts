/**
 * Pretty-printing of decoded TLV: each tag named from the dictionary, templates nested,
 * values shown as text where the format is text, card data masked through the one
 * masking module unless the caller (a decode command run with --unmask) asks otherwise.
 */
import { maskPan, WIPED } from '../../config/masking.js';
import { tagToHex, type Tlv } from '../tlv/index.js';
import { tagInfo, tagName } from './dictionary.js';

export interface DescribedTlv {
  tag: string;
  name: string;
  length: number;
  /** Hex of the value (masked where card data), absent for templates. */
  value?: string;
  /** Readable form: text for a/an/ans, digits for n/cn, masked PAN. */
  text?: string;
  /** What the value means (DOL entries, TVR bits, ...), when the caller can say. */
  meaning?: string;
  children?: DescribedTlv[];
}

export interface DescribeOptions {
  unmask?: boolean;
  /** Adds a readable meaning to values (DOLs, TVR, ...); see emv/kernel/explain.ts. */
  explain?: (tag: number, value: Buffer) => string | undefined;
}

export function describeTlv(items: Tlv[], options: DescribeOptions = {}): DescribedTlv[] {
  return items.map((item) => describeOne(item, options));
}

function describeOne(item: Tlv, options: DescribeOptions): DescribedTlv {
  const info = tagInfo(item.tag);
  const out: DescribedTlv = { tag: tagToHex(item.tag), name: tagName(item.tag), length: item.value.length };
  if (item.children) {
    out.children = describeTlv(item.children, options);
    return out;
  }
  const hex = item.value.toString('hex').toUpperCase();
  const sensitivity = info?.sensitivity;
  if (!options.unmask && sensitivity === 'pan') {
    out.value = WIPED;
    out.text = maskPan(hex.replace(/F+$/, ''));
    return out;
  }
  if (!options.unmask && (sensitivity === 'track' || sensitivity === 'secret' || sensitivity === 'name')) {
    out.value = WIPED;
    return out;
  }
  out.value = hex;
  const format = info?.format;
  if ((format === 'a' || format === 'an' || format === 'ans') && isPrintable(item.value))
    out.text = item.value.toString('latin1');
  else if (format === 'n') out.text = hex;
  else if (format === 'cn') out.text = hex.replace(/F+$/, '');
  const meaning = options.explain?.(item.tag, item.value);
  if (meaning !== undefined) out.meaning = meaning;
  return out;
}

function isPrintable(value: Buffer): boolean {
  for (const b of value) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

/** Indented lines for a terminal: `9F26 Application Cryptogram (8): 0102...`. */
export function formatDescribed(items: DescribedTlv[], indent = ''): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const head = `${indent}${item.tag} ${item.name} (${item.length})`;
    if (item.children) {
      lines.push(head);
      lines.push(...formatDescribed(item.children, indent + '  '));
    } else {
      const text = item.text !== undefined && item.text !== item.value ? `  "${item.text}"` : '';
      lines.push(`${head}: ${item.value ?? ''}${text}`);
      if (item.meaning !== undefined) lines.push(`${indent}  = ${item.meaning}`);
    }
  }
  return lines;
}
