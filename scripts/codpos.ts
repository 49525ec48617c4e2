#!/usr/bin/env node
/**
 * `codpos`: the technician's CLI. Each command group is a module in
 * scripts/cli/commands/ exporting `register(program)` and `order`; a group exists
 * only once it works, so listing the folder is the whole registry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../config/paths.js';
import { ERROR_AREAS } from '../config/errors.js';
import { exitQuietlyOnBrokenPipe, reportError } from './cli/output.js';

interface CommandModule {
  order: number;
  register(program: Command): void;
}

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

async function loadCommandModules(): Promise<CommandModule[]> {
  const here = fileURLToPath(import.meta.url);
  const dir = join(here, '..', 'cli', 'commands');
  const ext = extname(here); // .js when built, .ts under the test loader
  const files = readdirSync(dir).filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'));
  const modules = await Promise.all(
    files.map((f) => import(pathToFileURL(join(dir, f)).href) as Promise<CommandModule>),
  );
  return modules.sort((a, b) => a.order - b.order);
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
  for (const module of await loadCommandModules()) module.register(program);
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
process.exitCode = await main(process.argv);
