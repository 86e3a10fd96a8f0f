import { composeCrm, type ComposeOptions, type Crm, type Parts } from '../../api/compose.js';
import type { Services } from '../../core/services.js';

/**
 * The CRM as main.ts composes it (api/compose.ts), listening on a free loopback port, with fakes
 * for the services on the internet passed in `opts`. Tests that record notifications themselves
 * skip the Telegram sender; tests without a mail server skip the mail jobs.
 */
export type TestCrm = Crm & { base: string; close(): Promise<void> };

export async function startTestCrm(
  services: Services,
  parts: Partial<Parts> = {},
  opts: ComposeOptions = {},
): Promise<TestCrm> {
  const crm = await composeCrm(services, { web: true, worker: true, bots: true, ...parts }, { monitor: { refreshEveryMs: 0 }, ...opts });
  let base = '';
  if (crm.app) {
    await crm.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(crm.app.server.address() as { port: number }).port}`;
  }
  await crm.start();
  return Object.assign(crm, { base, close: () => crm.stop() });
}
