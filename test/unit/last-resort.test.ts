import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FATAL_EXIT_CODE, lastResortHandler } from '../../src/last-resort.js';

describe('last-resort handler', () => {
  it('logs one fatal line with the error and exits non-zero, once', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'fatal' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const exits: number[] = [];
    const handler = lastResortHandler(log, (c) => exits.push(c));
    handler(new TypeError('FIELDS[op].includes is not a function'), 'uncaughtException');
    handler(new Error('second'), 'uncaughtException');
    expect(exits).toEqual([FATAL_EXIT_CODE]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 60, event: 'fatal', origin: 'uncaughtException', err: { type: 'TypeError', message: 'FIELDS[op].includes is not a function' } });
  });

  it('takes a rejection that is no Error', () => {
    const lines: Array<Record<string, unknown>> = [];
    const exits: number[] = [];
    lastResortHandler(pino({ level: 'fatal' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), (c) => exits.push(c))('just a string', 'unhandledRejection');
    expect(exits).toEqual([FATAL_EXIT_CODE]);
    expect(lines[0]).toMatchObject({ event: 'fatal', origin: 'unhandledRejection', err: { message: 'non-Error thrown: just a string' } });
  });
});
