/**
 * The tree's permission checks, as apply() makes them with the entry's access: one check of one
 * permission on one znode (NoAuth, naming what was refused), and the recursive delete's check of
 * a whole subtree. No access (null): the member's own entry, which no ACL restricts.
 */
import { permits, Perms, type Access } from '../core/acl.js';
import type { OpFailure } from '../core/types.js';
import { childPath } from './path.js';
import { fail } from './validate.js';
import type { ZNode } from './znode.js';

/**
 * NoAuth unless `access` may `perm` on `node` (at `aclPath`); the token scope is decided on
 * `scopePath`, the znode the op is about (a create's new path, a delete's victim), and the
 * refusal names `path`.
 */
export function aclDenial(access: Access | null, node: ZNode, perm: number, path: string, aclPath: string, scopePath = path): OpFailure | null {
  if (access === null || permits(node.acl.list, perm, access, scopePath)) return null;
  const what = perm === Perms.CREATE ? 'create children of' : perm === Perms.DELETE ? 'delete children of' : perm === Perms.WRITE ? 'write' : perm === Perms.ADMIN ? 'change the ACL of' : 'read';
  const scoped = access.readOnly === true || access.prefix !== undefined ? " (by its ACL or by the token's scope)" : '';
  return fail('NoAuth', `not allowed to ${what} ${JSON.stringify(aclPath)}${scoped}`, path);
}

/**
 * A recursive delete deletes nothing unless its writer may READ every znode of the subtree
 * and DELETE the children of each (what reading the subtree, then deleting it bottom-up with
 * plain deletes, would need).
 */
export function subtreeDenial(access: Access | null, top: ZNode, topPath: string): OpFailure | null {
  if (access === null || (access.super && access.readOnly !== true && access.prefix === undefined)) return null;
  const stack: [ZNode, string][] = [[top, topPath]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    const d = aclDenial(access, node, Perms.READ, path, path);
    if (d) return d;
    // In name order, so that every member names the same znode in the refusal: the
    // children's DELETE ascending, then the walk goes on into them ascending (pre-order).
    const names = node.sortedChildren();
    for (let i = 0; i < names.length; i++) {
      const dc = aclDenial(access, node, Perms.DELETE, childPath(path, names[i]!), path);
      if (dc) return dc;
    }
    for (let i = names.length - 1; i >= 0; i--) stack.push([node.children!.get(names[i]!)!, childPath(path, names[i]!)]);
  }
  return null;
}
