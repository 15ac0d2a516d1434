import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from '../../src/api/http/app.js';
import { LocalLog } from '../../src/log/local-log.js';
import { Member } from '../../src/node/member.js';

export interface TestApp {
  app: FastifyInstance;
  member: Member;
  close(): Promise<void>;
}

/** A real member (LocalLog, real DataTree) behind the real fastify app. */
export async function startApp(opts: Partial<BuildAppOptions> = {}, memberOpts: ConstructorParameters<typeof Member>[1] = {}): Promise<TestApp> {
  const member = new Member(new LocalLog(), memberOpts);
  const app = await buildApp({ member, logLevel: false, ...opts });
  await app.ready();
  return {
    app,
    member,
    async close() {
      await app.close();
      await member.close();
    },
  };
}
