import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { Rfc5549Error } from '../errors.js';
import { parseRtTables, defaultTableNames, type TableNames } from '../model/route-table.js';
import { escapeText } from '../excerpt.js';
import { ConfigError, configFromDocument, configFromYaml, type Config } from './config.js';
import { MAX_CONFIG_BYTES } from './yaml-document.js';

const RT_TABLES_FILES = ['/etc/iproute2/rt_tables', '/usr/share/iproute2/rt_tables'];

/** Table names known to iproute2 on this host (built-ins if no file is readable). */
export function readTableNames(): TableNames {
  for (const file of RT_TABLES_FILES) {
    try {
      return parseRtTables(readFileSync(file, 'utf8'));
    } catch {
      /* try the next location */
    }
  }
  return defaultTableNames();
}

export function loadConfig(file: string | undefined, tables: TableNames = readTableNames()): Config {
  if (file === undefined) return configFromDocument({}, tables, 'embedded default');
  return configFromYaml(readConfigText(file), tables, file);
}

/**
 * The file's text, refused before parsing when it is over MAX_CONFIG_BYTES or not a regular
 * file (/dev/zero or a FIFO would be read for ever).
 */
function readConfigText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new Rfc5549Error('CONFIG_INVALID', `${escapeText(file)}: cannot read: ${escapeText((err as Error).message)}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    const tooBig = (size: number) => new ConfigError(file, [{ path: '', value: undefined, message: `the file is ${size} bytes, at most ${MAX_CONFIG_BYTES} are read` }]);
    if (!st.isFile()) throw new ConfigError(file, [{ path: '', value: undefined, message: 'not a regular file' }]);
    if (st.size > MAX_CONFIG_BYTES) throw tooBig(st.size);
    // Read one byte more than the cap: a file that grew since fstat is still refused.
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, n);
    if (n > MAX_CONFIG_BYTES) throw tooBig(n);
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof Rfc5549Error) throw err;
    throw new Rfc5549Error('CONFIG_INVALID', `${escapeText(file)}: cannot read: ${escapeText((err as Error).message)}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}
