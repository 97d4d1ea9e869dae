// The lifecycle most namespace tests share: a fresh Topology before each test; after it,
// even when it failed, the feed closed, the daemon killed and its files removed, the
// namespaces deleted.
import { afterEach, beforeEach } from 'vitest';
import { DaemonProcess, type FeedClient } from './daemon.js';
import { Topology } from './netns.js';

export interface DaemonTestbed {
  /** this test's namespaces */
  readonly topo: Topology;
  /** the daemon start() made (throws before) */
  readonly daemon: DaemonProcess;
  /** a started daemon in topo.host on `config` */
  start(config: Record<string, unknown>): Promise<DaemonProcess>;
  /** a JSON-lines client of the daemon, closed after the test */
  connect(): Promise<FeedClient>;
}

/** Call in a describe block. */
export function daemonPerTest(): DaemonTestbed {
  let topo: Topology | undefined;
  let daemon: DaemonProcess | undefined;
  const feeds: FeedClient[] = [];
  beforeEach(() => {
    topo = Topology.create();
  });
  afterEach(async () => {
    for (const f of feeds) f.close();
    feeds.length = 0;
    try {
      await daemon?.stop('SIGKILL');
      daemon?.cleanup();
    } finally {
      daemon = undefined;
      topo?.destroy();
      topo = undefined;
    }
  });
  const made = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`daemonPerTest: no ${what} yet`);
    return v;
  };
  return {
    get topo() { return made(topo, 'topology'); },
    get daemon() { return made(daemon, 'daemon'); },
    async start(config) {
      daemon = new DaemonProcess(made(topo, 'topology').host, config);
      await daemon.start();
      return daemon;
    },
    async connect() {
      const feed = await made(daemon, 'daemon').connect();
      feeds.push(feed);
      return feed;
    },
  };
}
