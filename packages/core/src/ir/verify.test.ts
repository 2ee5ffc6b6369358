import { describe, expect, it } from 'vitest';
import { isQuantkitError } from '../errors/quantkit-error.js';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { Graph } from './graph.js';
import { Node } from './node.js';
import { Value } from './value.js';
import { verifyGraph, verifyModel } from './verify.js';

/** x, w → MatMul(mm) → Relu(relu) → y */
function clean() {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [1, 4]);
  const w = b.initializer('w', new Float32Array(8), [4, 2]);
  const [h] = b.node('MatMul', [x, w], { name: 'mm' });
  const [y] = b.node('Relu', [h!], { name: 'relu' });
  b.output(y!);
  const node = (name: string) => b.graph.nodes().find((n) => n.name === name)!;
  return { b, graph: b.graph, x, w, h: h!, y: y!, node };
}

describe('verifyGraph', () => {
  it('finds no problem in a graph built with the IR methods', () => {
    const { graph } = clean();
    expect(verifyGraph(graph)).toEqual([]);
  });

  it('finds no problem in a subgraph that reads an outer value', () => {
    const { b, graph, h, node } = clean();
    const body = new Graph('then');
    const inner = new Value('inner');
    body.append(new Node({ opType: 'Neg', name: 'neg', inputs: [h], outputs: [inner] }));
    body.addOutput(inner);
    const [ifOut] = b.node('If', [h], { name: 'if', attributes: { then_branch: body, else_branch: new Graph('else') } });
    graph.outputs.push(ifOut!);
    expect(node('if').subgraphs()).toHaveLength(2);
    expect(verifyGraph(graph)).toEqual([]);
  });

  it('case 1: a name defined twice is reported with both definitions', () => {
    const { graph, x } = clean();
    graph.append(new Node({ opType: 'Abs', name: 'abs', inputs: [x], outputs: [new Value('mm_out0')] }));
    const problems = verifyGraph(graph);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('mm_out0 is defined twice');
    expect(problems[0]).toContain("'mm'");
    expect(problems[0]).toContain("'abs'");
  });

  it('case 1: an initializer named like a graph input is reported (unless it is the same value)', () => {
    const { graph } = clean();
    const w = graph.initializers.get('w')!;
    graph.inputs.push(w);
    expect(verifyGraph(graph)).toEqual([]);
    const { graph: other } = clean();
    other.addInput(new Value('w'));
    expect(verifyGraph(other)).toEqual([expect.stringContaining('w is defined twice (a graph input and an initializer)')]);
  });

  it('case 2: a node before the producer of its input is out of order', () => {
    const { graph, y, node } = clean();
    graph.insertBefore(node('mm'), new Node({ opType: 'Neg', name: 'early', inputs: [y] }));
    const problems = verifyGraph(graph);
    expect(problems).toEqual([expect.stringContaining("'early' (Neg) reads relu_out0 before 'relu' (Relu) computes it")]);
  });

  it('case 3: a node reading a value nothing defines', () => {
    const { graph, node } = clean();
    node('relu').setInput(0, new Value('ghost'));
    const problems = verifyGraph(graph);
    expect(problems).toEqual([expect.stringContaining("'relu' (Relu) reads ghost, which nothing defines")]);
  });

  it('case 3: an undefined graph output', () => {
    const { graph } = clean();
    graph.addOutput(new Value('nowhere'));
    expect(verifyGraph(graph)).toEqual([expect.stringContaining('output nowhere is not defined')]);
  });

  it('case 3: a subgraph reading a value of a sibling subgraph', () => {
    const { b, graph, h } = clean();
    const thenBranch = new Graph('then');
    const secret = new Value('secret');
    thenBranch.append(new Node({ opType: 'Neg', name: 'neg', inputs: [h], outputs: [secret] }));
    const elseBranch = new Graph('else');
    elseBranch.append(new Node({ opType: 'Abs', name: 'abs', inputs: [secret] }));
    b.node('If', [h], { name: 'if', attributes: { then_branch: thenBranch, else_branch: elseBranch } });
    expect(verifyGraph(graph)).toEqual([expect.stringContaining("'abs' (Abs) reads secret, which nothing defines")]);
  });

  it('case 4: a node input whose value does not record the use', () => {
    const { graph, h } = clean();
    h._uses.length = 0;
    expect(verifyGraph(graph)).toEqual([expect.stringContaining("def-use: mm_out0 does not record its use by 'relu' (Relu) input 0")]);
  });

  it('case 4: a recorded use that is not a real input', () => {
    const { graph, x, node } = clean();
    x._uses.push({ node: node('relu'), index: 0 });
    expect(verifyGraph(graph)).toEqual([expect.stringContaining("def-use: x records a use by 'relu' (Relu) that is not there")]);
  });

  it('case 4: an output whose producer is another node', () => {
    const { graph, h, node } = clean();
    h._producer = node('relu');
    expect(verifyGraph(graph)).toEqual([expect.stringContaining("def-use: mm_out0 does not record 'mm' (MatMul) as its producer")]);
  });

  it('case 4: a broken use of an outer value is reported once, not once per subgraph', () => {
    const { b, graph, x, node } = clean();
    const branch = (name: string) => {
      const g = new Graph(name);
      g.append(new Node({ opType: 'Neg', name: `${name}-neg`, inputs: [x] }));
      return g;
    };
    b.node('If', [x], { name: 'if', attributes: { then_branch: branch('then'), else_branch: branch('else') } });
    x._uses.push({ node: node('relu'), index: 0 });
    expect(verifyGraph(graph)).toEqual([expect.stringContaining('def-use: x records a use by')]);
  });
});

describe('verifyModel', () => {
  it('passes a clean model', () => {
    expect(() => verifyModel(clean().b.model())).not.toThrow();
  });

  it('throws QK_GRAPH_INVALID listing the problems under the context', () => {
    const { b, node } = clean();
    node('relu').setInput(0, new Value('ghost'));
    try {
      verifyModel(b.model(), 'the output of pass fold');
      expect.unreachable();
    } catch (error) {
      expect(isQuantkitError(error) && error.code).toBe('QK_GRAPH_INVALID');
      expect((error as Error).message).toMatch(/^the output of pass fold is not a valid graph:\n {2}- .*ghost/);
    }
  });

  it('shows the first 20 problems and counts the rest', () => {
    const { b, graph } = clean();
    for (let i = 0; i < 25; i++) graph.addOutput(new Value(`missing${i}`));
    expect(() => verifyModel(b.model())).toThrow(/missing19 is not defined\.\n {2}… and 5 more$/);
  });
});
