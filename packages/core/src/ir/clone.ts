import { Attribute, AttributeType } from './attribute.js';
import { Graph } from './graph.js';
import { Model } from './model.js';
import { Node } from './node.js';
import { Value } from './value.js';

/**
 * A deep copy of the model's structure: new graphs, nodes and values, the same (immutable) tensors. Values from
 * outside the copied graph (outer scopes) map to their copies when those exist.
 */
export function cloneModel(model: Model): Model {
  const copy = new Model(cloneGraph(model.graph, new Map()), { irVersion: model.irVersion, opsetImports: {} });
  for (const [domain, version] of model.opsetImports) copy.opsetImports.set(domain, version);
  copy.producerName = model.producerName;
  copy.producerVersion = model.producerVersion;
  copy.domain = model.domain;
  copy.modelVersion = model.modelVersion;
  copy.docString = model.docString;
  for (const [key, value] of model.metadata) copy.metadata.set(key, value);
  copy.functions = model.functions;
  copy.proto = model.proto;
  return copy;
}

export function cloneGraph(graph: Graph, map: Map<Value, Value>, parentNode?: Node): Graph {
  const copy = new Graph(graph.name);
  copy.docString = graph.docString;
  copy.proto = graph.proto;
  copy.parentNode = parentNode;
  const get = (value: Value): Value => {
    let mapped = map.get(value);
    if (!mapped) {
      mapped = new Value(value.name, { type: value.type, constValue: value.constValue, docString: value.docString });
      mapped.metadataProps = value.metadataProps;
      map.set(value, mapped);
    }
    return mapped;
  };
  for (const value of graph.inputs) copy.addInput(get(value));
  for (const [name, value] of graph.initializers) {
    const mapped = get(value);
    mapped.graph = copy;
    copy.initializers.set(name, mapped);
  }
  for (const value of graph.sparseInitializers) {
    const mapped = get(value);
    mapped.graph = copy;
    copy.sparseInitializers.push(mapped);
  }
  for (const node of graph) {
    const clone = new Node({
      opType: node.opType,
      domain: node.domain,
      name: node.name,
      docString: node.docString,
      outputs: node.outputs.map(get),
    });
    clone.proto = node.proto;
    copy.append(clone);
    for (const input of node.inputs) clone.appendInput(input ? get(input) : undefined);
    for (const [name, attribute] of node.attributes) clone.attributes.set(name, cloneAttribute(attribute, map, clone));
  }
  for (const value of graph.outputs) copy.addOutput(get(value));
  for (const value of graph.valueInfos) copy.valueInfos.push(get(value));
  return copy;
}

function cloneAttribute(attribute: Attribute, map: Map<Value, Value>, owner: Node): Attribute {
  const extra = { refAttrName: attribute.refAttrName, docString: attribute.docString, proto: attribute.proto };
  if (attribute.type === AttributeType.GRAPH) {
    return new Attribute(attribute.name, AttributeType.GRAPH, cloneGraph(attribute.value as Graph, map, owner), extra);
  }
  if (attribute.type === AttributeType.GRAPHS) {
    const graphs = (attribute.value as Graph[]).map((g) => cloneGraph(g, map, owner));
    return new Attribute(attribute.name, AttributeType.GRAPHS, graphs, extra);
  }
  return attribute;
}
