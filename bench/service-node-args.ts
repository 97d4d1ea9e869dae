// node's options as systemd/rfc5549d.service runs the daemon (its Environment=NODE_OPTIONS,
// e.g. the capped young generation), so that what the benches measure is what the service runs.
import { readFileSync } from 'node:fs';

export const SERVICE_NODE_ARGS: readonly string[] = (
  /^Environment=NODE_OPTIONS=(.*)$/m.exec(readFileSync(new URL('../../systemd/rfc5549d.service', import.meta.url), 'utf8'))?.[1] ?? ''
).split(' ').filter(Boolean);
