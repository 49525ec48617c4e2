/**
 * The console of a running simulator (`codpos sim devices`, `codpos sim host`): reads
 * commands from stdin one line at a time, runs them in order however fast they are
 * typed or piped, prints each answer (or the error, scrubbed of card data), and returns
 * when SIGINT or SIGTERM arrives — stdin ending (a background run with </dev/null) does
 * not stop the simulator.
 */
import { createInterface } from 'node:readline';
import { PosError } from '../../config/errors.js';
import { scrubText } from '../../config/masking.js';
import { printJson, printLines } from './output.js';

/** Runs one command line; returns the text to print, if any. */
export type SimCommandRunner = (line: string) => Promise<string | undefined | void> | string | undefined | void;

export async function runSimConsole(run: SimCommandRunner, opts: { json?: boolean }): Promise<void> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  let chain = Promise.resolve();
  lines.on('line', (line) => {
    chain = chain.then(async () => {
      try {
        const answer = await run(line);
        if (!answer) return;
        if (opts.json) printJson({ ok: true, command: line.trim().split(/\s+/)[0], text: answer });
        else printLines([answer]);
      } catch (error) {
        const message = error instanceof PosError ? error.message : String(error);
        if (opts.json)
          printJson({
            ok: false,
            error: error instanceof PosError ? error.code : 'CODPOS_INTERNAL',
            message: scrubText(message),
          });
        else process.stderr.write(`error: ${scrubText(message)}\n`);
      }
    });
  });
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  lines.close();
  await chain;
}
