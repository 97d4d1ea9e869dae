// Runs loadConfig in a worker thread (see load-off-thread.ts): the daemon's event loop keeps
// handling routes while a reload parses the file.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { ConfigError } from './config.js';
import { loadConfig } from './load.js';
import type { WorkerAnswer, WorkerRequest } from './load-off-thread.js';

const { file, tables } = workerData as WorkerRequest;
let answer: WorkerAnswer;
try {
  answer = { ok: true, config: loadConfig(file, new Map(tables)) };
} catch (err) {
  answer = err instanceof ConfigError ? { ok: false, problems: err.problems } : { ok: false, message: errorMessage(err) };
}
try {
  parentPort!.postMessage(answer);
} catch {
  // a problem's value that cannot be cloned: send the problems without values
  if (!answer.ok && answer.problems) parentPort!.postMessage({ ok: false, problems: answer.problems.map((p) => ({ ...p, value: undefined })) });
  else throw new Error('the configuration could not be handed back from the worker');
}
