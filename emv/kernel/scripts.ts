/**
 * Issuer script processing (EMV Book 3 10.10): templates 71 run before the final
 * GENERATE AC, templates 72 after it. Each 86 command goes to the card in order; a
 * status other than 90xx/62xx/63xx fails the script and stops it. The Issuer Script
 * Results (9F5B) carry, per script, the result nibble (0 not performed, 1 failed,
 * 2 successful) with the failing command's sequence number, and the script identifier.
 */
import { decodeTlv, findTag, type Tlv } from '../tlv/index.js';
import type { TransactionContext } from './context.js';
import type { ScriptResult } from './types.js';

export function parseScripts(encoded: Buffer | undefined): Tlv[] {
  if (!encoded || encoded.length === 0) return [];
  try {
    return decodeTlv(encoded).filter((t) => t.tag === 0x71 || t.tag === 0x72);
  } catch {
    // A malformed script is not sent to the card; it is reported as failed below.
    return [{ tag: 0x71, value: Buffer.alloc(0), children: [] }];
  }
}

export async function runScripts(
  ctx: TransactionContext,
  scripts: Tlv[],
  template: 0x71 | 0x72,
): Promise<ScriptResult[]> {
  const results: ScriptResult[] = [];
  for (const script of scripts.filter((s) => s.tag === template)) {
    ctx.tsi.set('scriptProcessingPerformed');
    const children = script.children ?? [];
    const id = findTag(children, 0x9f18)?.value ?? Buffer.alloc(4);
    const commands = children.filter((c) => c.tag === 0x86);
    let failedAt = 0;
    if (commands.length === 0) failedAt = 1;
    for (let i = 0; i < commands.length && failedAt === 0; i++) {
      const { sw } = await ctx.channel.send(commands[i]!.value);
      const sw1 = sw >> 8;
      if (sw1 !== 0x90 && sw1 !== 0x62 && sw1 !== 0x63) failedAt = i + 1;
    }
    const ok = failedAt === 0;
    if (!ok) ctx.tvr.set(template === 0x71 ? 'scriptFailedBeforeFinalGenerateAc' : 'scriptFailedAfterFinalGenerateAc');
    const first = ok ? 0x20 : 0x10 | Math.min(failedAt, 0x0f);
    const value = Buffer.concat([Buffer.from([first]), Buffer.concat([id, Buffer.alloc(4)]).subarray(0, 4)]);
    results.push({ value, template, ok });
  }
  return results;
}
