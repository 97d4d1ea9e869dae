// A reload parses the config in a worker thread. Parsing YAML costs about 2.5 us a byte in
// the worst layout (a flow list of one-letter items): 0.6 s at the 256 KiB cap, far more
// than the daemon may stall route handling. The worker is bounded in heap and time.
import { Worker } from 'node:worker_threads';
import { Rfc5549Error } from '../errors.js';
import type { TableNames } from '../model/route-table.js';
import { ConfigError, deepFreeze, type Config, type ConfigProblem } from './config.js';

export interface WorkerRequest {
  readonly file: string | undefined;
  readonly tables: ReadonlyArray<readonly [string, number]>;
}
export type WorkerAnswer = { ok: true; config: Config } | { ok: false; problems?: readonly ConfigProblem[]; message?: string };

const RELOAD_TIMEOUT_MS = 10_000;
const RELOAD_HEAP_MB = 256;

export function loadConfigOffThread(file: string | undefined, tables: TableNames, timeoutMs = RELOAD_TIMEOUT_MS): Promise<Config> {
  const source = file ?? 'embedded default';
  return new Promise((resolve, reject) => {
    const request: WorkerRequest = { file, tables: [...tables] };
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), {
      workerData: request,
      resourceLimits: { maxOldGenerationSizeMb: RELOAD_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(new ConfigError(source, [{ path: '', value: undefined, message: `parsing took longer than ${timeoutMs} ms` }]))), timeoutMs);
    worker.once('message', (a: WorkerAnswer) =>
      settle(() => {
        if (a.ok) resolve(deepFreeze(a.config)); // a structured clone is not frozen
        else if (a.problems) reject(new ConfigError(source, a.problems));
        else reject(new Rfc5549Error('CONFIG_INVALID', `${source}: ${a.message ?? 'could not be loaded'}`));
      }),
    );
    worker.once('error', (err) =>
      settle(() => reject(new ConfigError(source, [{ path: '', value: undefined, message: `could not be parsed within ${RELOAD_HEAP_MB} MB: ${err.message}` }]))),
    );
    worker.once('exit', (code) => settle(() => reject(new Rfc5549Error('CONFIG_INVALID', `${source}: the config loader exited (${code}) without an answer`))));
  });
}
