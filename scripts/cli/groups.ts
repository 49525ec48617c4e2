/**
 * Shared command groups. Several command modules add subcommands under one verb
 * (`codpos decode iso8583`, `codpos decode tlv`, `codpos decode track`), and the
 * modules load in any order, so whichever registers first creates the group and
 * the others find it. Use this instead of `program.command(name)` for a shared verb.
 */
import type { Command } from 'commander';

/** Returns the top-level command `name`, creating it with `description` when it does not exist yet. */
export function groupCommand(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((command) => command.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}
