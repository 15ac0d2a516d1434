import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from '../../src/api/http/app.js';
import type { ApiConfig } from '../../src/api/http/context.js';
import { LocalLog } from '../../src/log/local-log.js';
import { Member } from '../../src/node/member.js';
import { assembleMember, type MemberParts, type MemberPartsConfig, type MemberPartsOptions } from '../../src/server/parts.js';

export interface TestApp {
  app: FastifyInstance;
  member: Member;
  parts: MemberParts;
  close(): Promise<void>;
}

/** What a test serves: the face's options and the member parts' (config for both, as `zgate serve` takes them). */
export interface ServeOptions extends Omit<Partial<BuildAppOptions>, 'config' | 'service'>, Omit<MemberPartsOptions, 'config'> {
  config?: Partial<ApiConfig & MemberPartsConfig>;
}

/** The member's parts and its app, as the composition root assembles them, around `member`. */
export async function assembleApp(member: Member, opts: ServeOptions = {}): Promise<{ app: FastifyInstance; parts: MemberParts }> {
  const { config, watch, processMetrics, logLevel, logger, ...partsOptions } = opts;
  const parts = assembleMember(member, { ...partsOptions, ...(config !== undefined ? { config } : {}) });
  const app = await buildApp({
    service: parts.service,
    logLevel: logLevel ?? false,
    ...(config !== undefined ? { config } : {}),
    ...(watch !== undefined ? { watch } : {}),
    ...(processMetrics !== undefined ? { processMetrics } : {}),
    ...(logger !== undefined ? { logger } : {}),
  });
  parts.start();
  app.addHook('onClose', async () => parts.stop());
  return { app, parts };
}

/** A real member (LocalLog, real DataTree) behind the real fastify app. */
export async function startApp(opts: ServeOptions = {}, memberOpts: ConstructorParameters<typeof Member>[1] = {}): Promise<TestApp> {
  const member = new Member(new LocalLog(), memberOpts);
  const { app, parts } = await assembleApp(member, opts);
  await app.ready();
  return {
    app,
    member,
    parts,
    async close() {
      await app.close();
      await member.close();
    },
  };
}
