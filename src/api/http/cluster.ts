/**
 * /v1/cluster: the cluster as this member sees it, and membership changes one member at a
 * time (`POST /v1/cluster/members`, `DELETE /v1/cluster/members/{id}`): any member takes
 * them, a follower asks the leader, and the answer comes once the change has applied on the
 * member asked. A member started without --peers runs alone and reports itself as leader.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { CoordinationService } from '../../coordination/service.js';
import type { ApiContext } from './context.js';

const memberSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    peer: { type: 'string', description: 'where the other members reach it (host:port)' },
    http: { type: 'string', description: 'its HTTP URL (empty until it has called this member)' },
    role: { type: 'string', enum: ['leader', 'follower', 'candidate', 'learner'] },
    matchIndex: { type: 'string', description: "the leader's view of its log (on a follower: its own last index; others 0)" },
    reachable: { type: 'boolean' },
  },
} as const;

const clusterSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer', description: 'the member that answered' },
    leaderId: { type: ['integer', 'null'] },
    term: { type: 'string' },
    commitIndex: { type: 'string' },
    appliedZxid: { type: 'string' },
    members: { type: 'array', items: memberSchema },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;
const memberId = { type: 'integer', minimum: 1, maximum: 254 } as const;



export async function clusterRoutes(app: FastifyInstance, ctx: ApiContext, registry: Registry): Promise<void> {
  const { service } = ctx;

  const view = (): Record<string, unknown> => {
    const c = service.cluster();
    return {
      id: c.id,
      leaderId: c.leaderId,
      term: String(c.term),
      commitIndex: String(c.commitIndex),
      appliedZxid: String(c.appliedZxid),
      members: c.members.map((m) => ({ ...m, matchIndex: String(m.matchIndex) })),
    };
  };

  app.get('/v1/cluster', { schema: { summary: 'The cluster as this member sees it', tags: ['cluster'], response: { 200: clusterSchema } } }, async () => view());

  app.post<{ Body: { id: number; peer: string; http?: string } }>(
    '/v1/cluster/members',
    {
      schema: {
        summary: 'Add a member (one at a time)',
        description:
          'The leader first replicates the new member\'s addresses, then proposes the configuration change; a follower asks the leader. ' +
          'Answered once the change has applied on this member. Start the new member with --join (empty data dir) and a --peers list that includes it.',
        tags: ['cluster'],
        body: {
          type: 'object',
          properties: {
            id: { ...memberId, description: 'the new member\'s id (its --id)' },
            peer: { type: 'string', minLength: 3, maxLength: 255, description: 'host:port where the other members reach it' },
            http: { type: 'string', maxLength: 255, description: 'its HTTP URL (shown by /v1/cluster)' },
          },
          required: ['id', 'peer'],
          additionalProperties: false,
        },
        response: {
          201: clusterSchema,
          400: { description: 'BadArguments: bad id or address; a member running alone', ...errorRef },
          409: { description: 'NodeExists: already a member', ...errorRef },
          503: { description: 'Unavailable: no leader, another change in progress, or not applied in time (retry after Retry-After seconds)', ...errorRef },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      mustBeSuper(service, request);
      await service.addMember(b.id, b.peer, b.http ?? '');
      return reply.code(201).header('location', `/v1/cluster/members/${b.id}`).send(view());
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/cluster/members/:id',
    {
      schema: {
        summary: 'Remove a member (one at a time)',
        description: 'The leader proposes the configuration change; a follower asks the leader. Answered once the change has applied on this member. The removed member stops taking part.',
        tags: ['cluster'],
        params: { type: 'object', properties: { id: memberId }, required: ['id'] },
        response: {
          200: clusterSchema,
          400: { description: 'BadArguments: bad id; the last member; a member running alone', ...errorRef },
          404: { description: 'NoNode: not a member', ...errorRef },
          503: { description: 'Unavailable: no leader, another change in progress, or not applied in time (retry after Retry-After seconds)', ...errorRef },
        },
      },
    },
    async (request) => {
      mustBeSuper(service, request);
      await service.removeMember(request.params.id);
      return view();
    },
  );

  if (service.replicated) installReplicationMetrics(registry, service);
}

/** The Raft figures of a replicated member (zeros until its log is open). */
function installReplicationMetrics(registry: Registry, service: CoordinationService): void {
  const figures = () => service.replication() ?? { term: 0, commitIndex: 0, isLeader: false, leaderChanges: 0, forwarded: 0, followerLag: [] };
  new Gauge({ name: 'zgate_raft_term', help: 'the Raft term', registers: [registry], collect() { this.set(figures().term); } });
  new Gauge({ name: 'zgate_raft_commit_index', help: 'the commit index', registers: [registry], collect() { this.set(figures().commitIndex); } });
  new Gauge({ name: 'zgate_raft_is_leader', help: '1 on the leader', registers: [registry], collect() { this.set(figures().isLeader ? 1 : 0); } });
  new Gauge({ name: 'zgate_raft_leader_changes', help: 'leader changes seen since start', registers: [registry], collect() { this.set(figures().leaderChanges); } });
  new Gauge({ name: 'zgate_raft_forwarded_writes', help: 'writes forwarded to the leader since start', registers: [registry], collect() { this.set(figures().forwarded); } });
  const proposals = new Histogram({
    name: 'zgate_raft_proposal_seconds',
    help: 'leader only: time from a proposal (its own or forwarded) to its apply on the leader',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  service.onProposalLatency((s) => proposals.observe(s));
  new Gauge({
    name: 'zgate_raft_follower_lag_entries',
    help: "leader only: entries each follower is behind the leader's log",
    labelNames: ['member'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of figures().followerLag) this.set({ member: String(f.id) }, f.lag);
    },
  });
}

/**
 * Under --auth-required, membership changes are super's alone (ZooKeeper's reconfig needs
 * WRITE on /zookeeper/config, which only super has); open members keep them open.
 */
function mustBeSuper(service: CoordinationService, request: FastifyRequest): void {
  if (service.authRequired && request.identity?.access.super !== true) throw new ZgateError('NoAuth', 'membership changes need the super user under --auth-required');
}
