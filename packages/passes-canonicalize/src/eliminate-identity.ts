import { Value, constantTensor, type Model, type Node, type Pass, type PassContext, type PassResult } from '@quantkit/core';

const isStandard = (node: Node) => node.domain === '' || node.domain === 'ai.onnx';

/** Why a Dropout is not the identity in inference, or undefined when it is. */
function dropoutIsNotIdentity(node: Node): string | undefined {
  const mask = node.outputs[1];
  if (mask && mask.name !== '' && (mask.useCount > 0 || node.graph!.outputs.includes(mask))) return 'its mask output is used';
  const training = node.inputs[2];
  if (training) {
    const flag = constantTensor(training);
    if (!flag || flag.size !== 1) return 'its training_mode input is not a constant';
    if (Number(flag.toArray()[0]) !== 0) return 'training_mode is true';
  }
  return undefined;
}

function describe(node: Node): string {
  return `${node.name || node.output.name} (${node.opType})`;
}

/**
 * eliminate-identity (canonicalize) — Identity and inference-time Dropout go, so that patterns and GEMM groups
 * see the ops on either side of them as neighbours.
 *
 * Cases:
 * 1. An Identity whose output is not a graph output: its users read its input instead, and it goes.
 * 2. A Dropout in inference (no training_mode input, or a constant false one; its mask output unused): as 1.
 *    A Dropout that may train, or whose mask is used, stays, with an info diagnostic.
 * 3. An Identity / Dropout whose output is a graph output and whose input is computed by a node (and is not
 *    itself a graph output): that node computes the graph output directly, under the graph output's name, and
 *    its former output's other users read it. Graph-output names never change.
 * 4. An Identity / Dropout whose output is a graph output and whose input is a graph input, an initializer or
 *    another graph output: it stays (it is what gives the output its own name).
 * 5. Nodes inside subgraphs are left alone.
 */
export const eliminateIdentity: Pass = {
  info: {
    name: 'eliminate-identity',
    phase: 'canonicalize',
    summary: 'Identity and inference-time Dropout nodes go; graph-output names stay',
    after: ['raise-opset'],
  },
  run(model: Model, context: PassContext): PassResult {
    const { graph } = model;
    let modified = false;
    for (const node of graph.nodes()) {
      if (!isStandard(node) || (node.opType !== 'Identity' && node.opType !== 'Dropout')) continue;
      const input = node.inputs[0];
      const output = node.outputs[0];
      if (!input || !output) continue;
      if (node.opType === 'Dropout') {
        const reason = dropoutIsNotIdentity(node);
        if (reason) {
          context.diagnose({ level: 'info', node: node.name, message: `${describe(node)} stays: ${reason}.` });
          continue;
        }
      }
      if (!graph.outputs.includes(output)) {
        output.replaceAllUsesWith(input);
        graph.remove(node);
        modified = true;
        continue;
      }
      const producer = input.producer();
      if (!producer || producer.graph !== graph || graph.outputs.includes(input)) continue;
      // The producer takes over the graph output's value; the node is detached from it first.
      node.replaceOutput(0, new Value(graph.uniqueName(`${output.name}_detached`)));
      graph.remove(node);
      input.replaceAllUsesWith(output);
      const former = producer.replaceOutput(input.producerIndex(), output);
      if (!output.type) output.type = former.type;
      modified = true;
    }
    return { model, modified };
  },
};
