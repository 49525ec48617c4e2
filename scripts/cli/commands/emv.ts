/**
 * `codpos decode tlv HEX` and `codpos decode track TRACK`: read captured EMV data and
 * magstripe tracks the way a technician needs them — every tag named, templates
 * nested, the service code explained — with card data masked unless `--unmask`.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { maskPan, WIPED } from '../../../config/masking.js';
import { decodeTlv } from '../../../emv/tlv/index.js';
import { describeTlv, formatDescribed } from '../../../emv/tags/index.js';
import { explainValue } from '../../../emv/kernel/explain.js';
import { explainServiceCode, isExpired, parseTrack } from '../../../emv/magstripe/index.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';

export const order = 40;

function hexInput(text: string): Buffer {
  const clean = text.replace(/[\s:]/g, '');
  const bad = clean.search(/[^0-9A-Fa-f]/);
  if (bad >= 0)
    throw new PosError('CODPOS_USAGE_BAD_HEX', `codpos: HEX has a non-hex character at position ${bad}`, {
      details: { offset: bad },
    });
  if (clean.length % 2)
    throw new PosError('CODPOS_USAGE_BAD_HEX', 'codpos: HEX has an odd number of digits (bytes are two digits each)', {
      details: { offset: clean.length },
    });
  return Buffer.from(clean, 'hex');
}

/** A track typed or pasted by the technician: a bad one is a usage error (exit 2). */
function parseTrackForUser(track: string) {
  try {
    return parseTrack(track);
  } catch (error) {
    if (error instanceof PosError && error.code === 'CODPOS_EMV_BAD_TRACK') {
      throw new PosError('CODPOS_USAGE_BAD_TRACK', `codpos: ${error.message}`, {
        details: error.details ?? {},
        cause: error,
      });
    }
    throw error;
  }
}

export function register(program: Command): void {
  const decode = groupCommand(program, 'decode', 'decode captured ISO 8583, TLV and track data (card data masked)');

  decode
    .command('tlv')
    .description(
      'decode BER-TLV (EMV) data: tags named, templates nested; PAN masked and track data wiped unless --unmask',
    )
    .argument('<hex>', 'the TLV bytes in hex (spaces allowed)')
    .option('--json', 'machine-readable output')
    .option('--unmask', 'show PAN and track data in clear (lab use)')
    .action(
      action((hex: string, opts: { json?: boolean; unmask?: boolean }) => {
        const items = decodeTlv(hexInput(hex));
        const described = describeTlv(items, { unmask: opts.unmask === true, explain: explainValue });
        if (opts.json) printJson(described);
        else printLines(formatDescribed(described));
      }),
    );

  decode
    .command('track')
    .description(
      'decode a magstripe track 1 (%B...^...) or track 2 (;PAN=...): PAN masked, expiry, service code, chip required',
    )
    .argument('<track>', 'the track as read, sentinels and LRC optional')
    .option('--json', 'machine-readable output')
    .option('--unmask', 'show the PAN and cardholder name in clear (lab use)')
    .action(
      action((track: string, opts: { json?: boolean; unmask?: boolean }) => {
        const data = parseTrackForUser(track);
        const meaning = explainServiceCode(data.serviceCode);
        const out = {
          track: data.kind,
          pan: opts.unmask ? data.pan : maskPan(data.pan),
          ...(data.name !== undefined ? { name: opts.unmask ? data.name : WIPED } : {}),
          expiry: `20${data.expiry.slice(0, 2)}-${data.expiry.slice(2, 4)}`,
          expired: isExpired(data.expiry, new Date()),
          serviceCode: data.serviceCode,
          interchange: meaning.interchange,
          authorization: meaning.authorization,
          services: meaning.services,
          chipRequired: meaning.chipCard,
          pinRequired: meaning.pinRequired,
          luhnOk: data.luhnOk,
          ...(data.lrcOk !== undefined ? { lrcOk: data.lrcOk } : {}),
        };
        if (opts.json) {
          printJson(out);
          return;
        }
        printLines([
          `track:         ${out.track}`,
          `PAN:           ${out.pan}${data.luhnOk ? '' : '  (Luhn check FAILED)'}`,
          ...(out.name !== undefined ? [`name:          ${out.name}`] : []),
          `expiry:        ${out.expiry}${out.expired ? '  (EXPIRED)' : ''}`,
          `service code:  ${out.serviceCode}`,
          `  interchange:   ${out.interchange}`,
          `  authorization: ${out.authorization}`,
          `  services:      ${out.services}`,
          `chip required: ${out.chipRequired ? 'yes (insert the card; swipe only after a chip failure)' : 'no'}`,
          ...(out.lrcOk !== undefined ? [`LRC:           ${out.lrcOk ? 'ok' : 'WRONG'}`] : []),
        ]);
      }),
    );
}
