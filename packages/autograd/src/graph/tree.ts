// Groups picture nodes by cluster so nested scope outputs (DOT subgraphs, Mermaid subgraphs) can be printed.
import type { GraphPicture } from "./picture.js";

export interface ClusterTree {
  /** Picture node indices directly inside each cluster, in picture order. */
  nodesIn: number[][];
  /** Child cluster indices of each cluster, in creation order. */
  childrenOf: number[][];
  /** Picture node indices outside every cluster. */
  topNodes: number[];
  /** Outermost cluster indices. */
  topClusters: number[];
}

export function clusterTree(picture: GraphPicture): ClusterTree {
  const nodesIn: number[][] = picture.clusters.map(() => []);
  const childrenOf: number[][] = picture.clusters.map(() => []);
  const topNodes: number[] = [];
  const topClusters: number[] = [];
  picture.nodes.forEach((node, i) => {
    if (node.cluster < 0) topNodes.push(i);
    else nodesIn[node.cluster].push(i);
  });
  picture.clusters.forEach((cluster, c) => {
    if (cluster.parent < 0) topClusters.push(c);
    else childrenOf[cluster.parent].push(c);
  });
  return { nodesIn, childrenOf, topNodes, topClusters };
}
