/** `sluice tasks list|resolve`: hand-off tasks — decisions Sluice left to a person. */
import {
  DynamoHandoffTaskList,
  type StoredTask,
  TaskStatus,
} from '../../functions/adapters/handoff-tasks.js';
import { age, table, truncate } from '../format.js';
import { addOperatorNote } from '../operator-notes.js';
import { CliError, type SluiceTarget } from '../target.js';

function taskList(target: SluiceTarget) {
  return new DynamoHandoffTaskList(target.clients.documents, target.resources.tasksTable);
}

export async function listTasks(
  target: SluiceTarget,
  options: { readonly status: string; readonly source?: string },
): Promise<StoredTask[]> {
  const status = TaskStatus.safeParse(options.status);
  if (!status.success) throw new CliError(`--status must be open or resolved, got ${options.status}`, 2);
  if (options.source !== undefined && !target.resources.sourceQueues.has(options.source)) {
    throw new CliError(
      `unknown source ${JSON.stringify(options.source)}; known sources: ${[...target.resources.sourceQueues.keys()].join(', ')}`,
    );
  }
  const tasks = await taskList(target).list(status.data);
  return options.source === undefined ? tasks : tasks.filter((t) => t.source === options.source);
}

export function renderTasks(tasks: readonly StoredTask[], status: string, now = new Date()): string {
  if (tasks.length === 0) return `no ${status} hand-off tasks`;
  const since = (at: string | undefined) =>
    at === undefined ? '—' : age(Math.floor((now.getTime() - new Date(at).getTime()) / 1000));
  if (status === 'resolved') {
    // Who decided what: the answer an auditor or the next on-call looks for.
    const rows = tasks.map((t) => [
      t.taskId,
      t.source,
      t.reason,
      `${since(t.resolvedAt)} ago`,
      t.resolvedBy ?? '—',
      truncate(t.resolution ?? '', 70),
    ]);
    const notes = tasks.map(
      (t) =>
        `${t.taskId}  resolved ${t.resolvedAt ?? '—'} by ${t.resolvedBy ?? '—'}\n  decision  ${t.resolution ?? '—'}\n  was       ${t.message}`,
    );
    return `${tasks.length} resolved hand-off task(s)\n${table(['task', 'source', 'reason', 'resolved', 'by', 'decision'], rows)}\n\n${notes.join('\n')}`;
  }
  const rows = tasks.map((t) => [
    t.taskId,
    t.source,
    t.stage,
    t.reason,
    age(Math.floor((now.getTime() - new Date(t.createdAt).getTime()) / 1000)),
    truncate(t.message, 60),
  ]);
  const evidence = tasks.map(
    (t) => `${t.taskId}\n${t.evidenceKeys.map((k) => `  evidence ${k}`).join('\n')}`,
  );
  return `${tasks.length} ${status} hand-off task(s)\n${table(['task', 'source', 'stage', 'reason', 'age', 'what happened'], rows)}\n\n${evidence.join('\n')}`;
}

export async function resolveTask(
  target: SluiceTarget,
  taskId: string | undefined,
  note: string | undefined,
  by: string,
): Promise<StoredTask> {
  if (taskId === undefined)
    throw new CliError('name the task to resolve: sluice tasks resolve <taskId> --note "..."', 2);
  if (note === undefined || note.trim() === '') {
    throw new CliError('say what was decided with --note "<text>": it is kept with the task and the job', 2);
  }
  const tasks = taskList(target);
  const result = await tasks.resolve(taskId, { by, note, at: new Date() });
  if (result === 'not-found') {
    throw new CliError(`no hand-off task ${JSON.stringify(taskId)} (list them with: sluice tasks list)`);
  }
  if (result === 'already-resolved') throw new CliError(`task ${taskId} is already resolved`);
  const task = await tasks.get(taskId);
  if (task === undefined) throw new CliError(`task ${taskId} vanished after it was resolved`);
  await addOperatorNote(target, {
    jobKey: task.jobKey,
    traceId: task.traceId,
    action: 'task-resolved',
    note: `resolved hand-off task ${taskId}: ${note}`,
    by,
    at: new Date(),
  });
  return task;
}
