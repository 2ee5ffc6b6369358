import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Io } from './output.js';
import { buildProgram } from './program.js';
import { VERBS } from './verbs.js';

const io: Io = { stdout: () => {}, stderr: () => {}, isTTY: false };

describe('verbs', () => {
  it('lists every verb with the description its module registers', async () => {
    const program = await buildProgram(io);
    const registered = new Map(program.commands.map((c) => [c.name(), c.description()]));
    expect([...registered.keys()]).toEqual(VERBS.map((v) => v.name));
    for (const verb of VERBS) expect(registered.get(verb.name), verb.name).toBe(verb.summary);
  }, 60_000);

  it('registers only the verbs asked for in full; the others by name and summary', async () => {
    const program = await buildProgram(io, (name) => name === 'inspect');
    const byName = new Map(program.commands.map((c): [string, Command] => [c.name(), c]));
    expect(byName.get('inspect')!.registeredArguments.length).toBeGreaterThan(0);
    expect(byName.get('calibrate')!.options).toHaveLength(0);
    expect(byName.get('calibrate')!.description()).toBe(VERBS.find((v) => v.name === 'calibrate')!.summary);
  });
});
