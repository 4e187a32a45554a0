import { BadRequestError } from './errors';

/** The `limit` query parameter: default 20, an integer 1..100, else 400 `bad-request`. */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  if (!/^\d{1,3}$/.test(raw)) throw new BadRequestError('limit must be an integer from 1 to 100', 'limit');
  const limit = Number(raw);
  if (limit < 1 || limit > 100) throw new BadRequestError('limit must be an integer from 1 to 100', 'limit');
  return limit;
}
