import { readFileSync } from 'node:fs';
import { Rfc5549Error } from '../errors.js';
import { parseRtTables, defaultTableNames, type TableNames } from '../model/route-table.js';
import { configFromDocument, configFromYaml, type Config } from './config.js';

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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Rfc5549Error('CONFIG_INVALID', `${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  return configFromYaml(text, tables, file);
}
