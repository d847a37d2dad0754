import type { FastifyRequest } from 'fastify';
import { principalOf } from './auth.js';
import { clientIp } from './client-ip.js';

/** Who is acting, as services record it in the audit log. */
export type Actor = { userId: string; ip?: string | undefined; userAgent?: string | undefined };

/** Where a request comes from: the client's address, its user agent, and the name the client gave itself. */
export function clientOf(request: FastifyRequest, clientName?: string) {
  return { ip: clientIp(request), userAgent: request.headers['user-agent'], clientName };
}

/** The signed-in caller of an authenticated request, with where the request comes from. */
export function actorOf(request: FastifyRequest): Actor {
  const { ip, userAgent } = clientOf(request);
  return { userId: principalOf(request).userId, ip, userAgent };
}
