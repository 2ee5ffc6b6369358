import type { Model } from '../ir/model.js';

/** op type → number of nodes (subgraphs included), most frequent first; ops of other domains as `domain::Op`. */
export function opHistogram(model: Model): Record<string, number> {
  const counts = new Map<string, number>();
  for (const node of model.graph.allNodes()) {
    const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::${node.opType}` : node.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
