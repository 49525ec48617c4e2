/**
 * `codpos tasks [--json]`: the courier's task list as the running daemon has it (`GET
 * /v1/tasks`): each task's state (done, exception with its reason, open) and what is left of
 * the day (tasks open, COD still to collect).
 */
import type { Command } from 'commander';
import type { TaskList } from '../../../runtime/workflow/service.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';

export const order = 13;

export function register(program: Command): void {
  program
    .command('tasks')
    .description("the courier's task list with each task's state and what is left (open tasks, COD still to collect)")
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { config?: string; json?: boolean }) => runTasks(opts)));
}

async function runTasks(opts: { config?: string; json?: boolean }): Promise<void> {
  const list = await callDaemon<TaskList>(opts, 'GET', '/v1/tasks');
  if (opts.json) {
    printJson(list);
    return;
  }
  const { summary } = list;
  printLines([
    `${summary.total} task(s): ${summary.open} open, ${summary.done} done, ${summary.exceptions} exception(s); COD still to collect ${summary.codToCollect} (${summary.currency})${list.courier ? `; courier ${list.courier.id}` : ''}`,
    ...list.tasks.map(
      (task) =>
        `  ${task.id.padEnd(6)} ${task.kind.padEnd(8)} ${task.waybill.padEnd(14)} ${String(task.codAmount).padStart(7)}  ${task.state}${task.reason ? `: ${task.reason}` : ''}  ${task.consignee ?? '-'}`,
    ),
  ]);
}
