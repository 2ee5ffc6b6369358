import { describe, expect, it } from 'vitest';
import { isQuantkitError } from '../errors/quantkit-error.js';
import { Attribute, AttributeType, toAttribute } from './attribute.js';
import { Graph } from './graph.js';
import { Tensor } from './tensor.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('Attribute helpers', () => {
  it('build each kind with its type number', () => {
    const tensor = Tensor.fromArray(new Float32Array([1]), [1]);
    const graph = new Graph('body');
    expect(Attribute.float('f', 0.5)).toMatchObject({ name: 'f', type: AttributeType.FLOAT, value: 0.5 });
    expect(Attribute.int('i', 3n)).toMatchObject({ type: AttributeType.INT, value: 3n });
    expect(Attribute.string('s', 'abc')).toMatchObject({ type: AttributeType.STRING, value: utf8('abc') });
    expect(Attribute.floats('fs', [0.5])).toMatchObject({ type: AttributeType.FLOATS, value: [0.5] });
    expect(Attribute.ints('is', [1, 2n])).toMatchObject({ type: AttributeType.INTS, value: [1, 2n] });
    expect(Attribute.strings('ss', ['a', utf8('b')])).toMatchObject({ type: AttributeType.STRINGS, value: [utf8('a'), utf8('b')] });
    expect(Attribute.tensor('t', tensor).value).toBe(tensor);
    expect(Attribute.graph('g', graph).value).toBe(graph);
  });

  it('list helpers copy their input so later edits do not leak in', () => {
    const list = [1, 2];
    const attribute = Attribute.ints('axes', list);
    list.push(3);
    expect(attribute.value).toEqual([1, 2]);
  });

  it('asNumber, asNumbers and asString read the matching kinds', () => {
    expect(Attribute.int('i', 9223372036854775807n).asNumber()).toBe(9223372036854775807);
    expect(Attribute.float('f', 0.25).asNumber()).toBe(0.25);
    expect(Attribute.ints('is', [1, -1n]).asNumbers()).toEqual([1, -1]);
    expect(Attribute.floats('fs', [0.5, 1.5]).asNumbers()).toEqual([0.5, 1.5]);
    expect(Attribute.string('mode', 'nearest').asString()).toBe('nearest');
  });

  it('reading the wrong kind is QK_ATTRIBUTE naming the attribute', () => {
    const attribute = Attribute.string('mode', 'linear');
    for (const read of [() => attribute.asNumber(), () => attribute.asNumbers()]) {
      try {
        read();
        expect.unreachable();
      } catch (error) {
        expect(isQuantkitError(error) && error.code).toBe('QK_ATTRIBUTE');
        expect((error as Error).message).toContain('mode');
      }
    }
    expect(() => Attribute.int('axis', 1).asString()).toThrow(/axis/);
  });

  it('subgraphs() returns the graphs of GRAPH and GRAPHS attributes only', () => {
    const a = new Graph('a');
    const b = new Graph('b');
    expect(Attribute.graph('g', a).subgraphs()).toEqual([a]);
    expect(new Attribute('gs', AttributeType.GRAPHS, [a, b]).subgraphs()).toEqual([a, b]);
    expect(Attribute.int('i', 1).subgraphs()).toEqual([]);
  });
});

describe('toAttribute infers the kind', () => {
  it('integers → INT, other numbers → FLOAT, bigint → INT', () => {
    expect(toAttribute('a', 2).type).toBe(AttributeType.INT);
    expect(toAttribute('a', -0.5).type).toBe(AttributeType.FLOAT);
    expect(toAttribute('a', 2n)).toMatchObject({ type: AttributeType.INT, value: 2n });
  });

  it('lists: all integers → INTS, any fraction → FLOATS, [] → INTS, strings → STRINGS', () => {
    expect(toAttribute('a', [1, 2]).type).toBe(AttributeType.INTS);
    expect(toAttribute('a', [1, 2.5])).toMatchObject({ type: AttributeType.FLOATS, value: [1, 2.5] });
    expect(toAttribute('a', [])).toMatchObject({ type: AttributeType.INTS, value: [] });
    expect(toAttribute('a', ['x', 'y'])).toMatchObject({ type: AttributeType.STRINGS, value: [utf8('x'), utf8('y')] });
  });

  it('strings → STRING as UTF-8 bytes', () => {
    const attribute = toAttribute('a', 'héllo');
    expect(attribute.type).toBe(AttributeType.STRING);
    expect(attribute.value).toEqual(utf8('héllo'));
    expect(attribute.asString()).toBe('héllo');
  });

  it('tensors → TENSOR, graphs → GRAPH, Attributes pass through', () => {
    const tensor = Tensor.fromArray(new Float32Array([1]), [1]);
    const graph = new Graph('g');
    const attribute = Attribute.int('x', 1);
    expect(toAttribute('t', tensor)).toMatchObject({ type: AttributeType.TENSOR, value: tensor });
    expect(toAttribute('g', graph)).toMatchObject({ type: AttributeType.GRAPH, value: graph });
    expect(toAttribute('x', attribute)).toBe(attribute);
  });
});
