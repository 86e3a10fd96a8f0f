import type { ServiceContext } from '../core/context.js';
import { listUsers } from '../core/users/users.js';
import { listSegments } from '../core/segments/segments.js';
import { int, type FormBody } from './forms.js';

/** Rows per page of every list in the panel, and the last page a pager goes to (deeper, an offset gets slow on a million rows: the filter should be narrowed instead). */
export const PAGE_SIZE = 50;
export const MAX_PAGE = 200;

/** The page number of a list's query (1 … MAX_PAGE). */
export const pageOf = (q: FormBody) => Math.min(Math.max(1, int(q, 'page') ?? 1), MAX_PAGE);

/** The users for «Ответственный» selects, and their names by id for the rows. */
export async function userNames(ctx: ServiceContext) {
  const users = await listUsers(ctx);
  return { users, userName: Object.fromEntries(users.map((u) => [u.id, u.name])) as Record<number, string> };
}

/** The panel's path of each kind of record card: `/admin/${cardPath.deal}/7`. */
export const cardPath = { counterparty: 'counterparties', contact: 'contacts', lead: 'leads', deal: 'deals' } as const;

/** Segments and users for a counterparty's selects and rows. */
export async function lookups(ctx: ServiceContext) {
  const [segments, n] = await Promise.all([listSegments(ctx), userNames(ctx)]);
  return { segments, segmentName: Object.fromEntries(segments.map((s) => [s.id, s.name])) as Record<number, string>, ...n };
}
