/** The OpenAPI document, as a member serves it at /openapi.json, without starting one. */
import { buildApp } from '../api/http/app.js';
import { LocalLog } from '../log/local-log.js';
import { Member } from '../node/member.js';
import { assembleMember } from './parts.js';

export async function openApiDocument(): Promise<unknown> {
  const member = new Member(new LocalLog());
  const parts = assembleMember(member);
  const app = await buildApp({ service: parts.service, logLevel: false });
  await app.ready();
  const doc = app.swagger();
  await app.close();
  parts.stop();
  await member.close();
  return doc;
}
