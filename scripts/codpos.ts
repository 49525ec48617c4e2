#!/usr/bin/env node
/**
 * `codpos`: the technician's CLI. Each command group is a module in
 * scripts/cli/commands/ exporting `register(program)` and `order`, listed in its index.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../config/paths.js';
import { ERROR_AREAS } from '../config/errors.js';
import { COMMAND_MODULES } from './cli/commands/index.js';
import { exitQuietlyOnBrokenPipe, reportError } from './cli/output.js';

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

function exitCodeTable(): string {
  const byCode = new Map<number, string[]>();
  byCode.set(0, ['ok']);
  for (const [area, { exitCode }] of Object.entries(ERROR_AREAS)) {
    byCode.set(exitCode, [...(byCode.get(exitCode) ?? []), area.toLowerCase()]);
  }
  return [...byCode.entries()]
    .sort(([a], [b]) => a - b)
    .map(([code, areas]) => `  ${code}  ${areas.join(', ')}`)
    .join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('codpos')
    .description("technician's CLI for the codpos courier PDA-POS terminal")
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\nExit codes:\n${exitCodeTable()}\n\nCard data is masked everywhere; only lab and decode commands take --unmask.`,
    )
    .exitOverride();
  for (const module of COMMAND_MODULES) module.register(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed the message or the help text.
      return error.exitCode === 0 ? 0 : ERROR_AREAS.USAGE.exitCode;
    }
    return reportError(error);
  }
  return Number(process.exitCode ?? 0);
}

exitQuietlyOnBrokenPipe();
/**
 * The run's end. Not a top-level await: the bundle is CommonJS (scripts/build/bundle.ts says
 * why); the launcher waits for this instead (scripts/bundle-launcher.ts).
 */
export const finished: Promise<void> = main(process.argv).then((code) => {
  process.exitCode = code;
});
