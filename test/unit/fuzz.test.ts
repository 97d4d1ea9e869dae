// The short fuzz pass CI runs: every target, a fixed seed, up to 100k inputs or 10 s each.
// Any crash, wrong result, slow input or heap growth fails it, with the reproducer printed
// (npm run fuzz -- --target T --seed S --index I). The long runs are `npm run fuzz`.
import { describe, expect, it } from 'vitest';
import { formatReport, runTarget, violationLines } from '../../bench/fuzz/harness.js';
import { makeTargets, TARGET_NAMES } from '../../bench/fuzz/targets.js';

const SEED = 5549;
const INPUTS = 100_000;
const SECONDS = 10;

describe('fuzz (short pass)', () => {
  it.each(TARGET_NAMES)('%s: no crash, no wrong result, no slow input, flat heap', (name) => {
    const [target] = makeTargets([name]);
    const report = runTarget(target!, { seed: SEED, inputs: INPUTS, seconds: SECONDS }); // 100 ms per input; config 1 s
    console.log(formatReport(report));
    expect(report.inputs).toBeGreaterThan(1000);
    expect(violationLines(report)).toEqual([]);
  }, (SECONDS + 20) * 1000);
});
