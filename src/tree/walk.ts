/**
 * Walks of the tree that change nothing: the size of a subtree (a recursive delete's bound) and
 * the digest over the canonical walk (pre-order, children ascending), without recursion, since
 * paths may nest deeper than the stack.
 */
import { Fnv64 } from './fnv.js';
import { NodeKind, type ZNode } from './znode.js';

export function subtreeSize(top: ZNode): number {
  let count = 0;
  const stack: ZNode[] = [top];
  while (stack.length > 0) {
    const node = stack.pop()!;
    count++;
    if (node.children !== null) for (const child of node.children.values()) stack.push(child);
  }
  return count;
}

/** Pre-order, children ascending: each node with its name (the root's is ''). */
function canonicalWalk(root: ZNode, order: ZNode[], names: string[]): void {
  const stack: ZNode[] = [root];
  const stackNames: string[] = [''];
  while (stack.length > 0) {
    const node = stack.pop()!;
    order.push(node);
    names.push(stackNames.pop()!);
    if (node.children === null) continue;
    const sorted = node.sorted ?? [...node.children.keys()].sort();
    for (let i = sorted.length - 1; i >= 0; i--) {
      stack.push(node.children.get(sorted[i]!)!);
      stackNames.push(sorted[i]!);
    }
  }
}

/**
 * FNV-1a 64 over the canonical walk of everything a replica must agree on: names and shape,
 * data, every stored stat field, the ACL and the node kind.
 */
export function treeDigest(root: ZNode): string {
  const h = new Fnv64();
  const nodes: ZNode[] = [];
  const names: string[] = [];
  canonicalWalk(root, nodes, names);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    h.string(names[i]!);
    h.uint32(node.numChildren);
    h.number(node.czxid);
    h.number(node.mzxid);
    h.number(node.pzxid);
    h.number(node.ctime);
    h.number(node.mtime);
    h.uint32(node.version);
    h.uint32(node.cversion);
    h.uint32(node.aversion);
    // The list itself, not its id: ids are bookkeeping, what a replica must agree on is who may do what.
    h.string(node.acl.key);
    h.uint32(node.kind);
    if (node.kind === NodeKind.Ephemeral) h.bigint(node.owner);
    if (node.kind === NodeKind.Ttl) h.number(node.ttl);
    h.uint32(node.data.length);
    h.bytes(node.data);
  }
  return h.hex();
}
