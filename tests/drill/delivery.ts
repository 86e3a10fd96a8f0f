/**
 * A sender that behaves like a webhook provider or a website backend: it repeats a request that
 * got 503, 429 or no answer at all (the same body and idempotency key), and keeps every attempt
 * so that a test can say what each one got.
 */

export type Outcome = number | 'network' | 'timeout';

export interface Attempt {
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
  retryAfter: string | null;
  body: string;
}

export interface Delivery {
  key: string;
  attempts: Attempt[];
  /** the last attempt got a 2xx */
  ok: boolean;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const isRetryable = (o: Outcome) => o === 'network' || o === 'timeout' || o === 503 || o === 429;

/**
 * Sends until an answer that is not worth repeating, the deadline, or `giveUp()` (the server is
 * gone for good). Between tries it waits what Retry-After asks, but at most `maxPauseMs` (a test
 * has no minutes to spare).
 */
export async function deliver(
  key: string,
  send: (signal: AbortSignal) => Promise<Response>,
  opts: { deadline: number; maxPauseMs?: number; timeoutMs?: number; giveUp?: () => boolean },
): Promise<Delivery> {
  const attempts: Attempt[] = [];
  for (;;) {
    const startedAt = Date.now();
    let outcome: Outcome;
    let retryAfter: string | null = null;
    let body = '';
    try {
      const res = await send(AbortSignal.timeout(opts.timeoutMs ?? 20_000));
      body = await res.text();
      outcome = res.status;
      retryAfter = res.headers.get('retry-after');
    } catch (e) {
      outcome = (e as Error).name === 'TimeoutError' ? 'timeout' : 'network';
    }
    attempts.push({ startedAt, endedAt: Date.now(), outcome, retryAfter, body });
    if (!isRetryable(outcome) || Date.now() > opts.deadline || opts.giveUp?.()) {
      return { key, attempts, ok: typeof outcome === 'number' && outcome >= 200 && outcome < 300 };
    }
    const asked = Number(retryAfter) * 1000;
    await sleep(Math.min(Number.isFinite(asked) && asked > 0 ? asked : 200, opts.maxPauseMs ?? 300));
  }
}
