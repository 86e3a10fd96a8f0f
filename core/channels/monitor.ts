import { and, eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { channelStates, users } from '../db/schema/index.js';
import { notify } from '../notifications/notify.js';
import { adapterDownText } from './texts.js';
import { channelKinds, type ChannelAdapter, type ChannelKind } from './types.js';

export type ChannelHealth = 'ok' | 'down' | 'off';

export interface AdapterMonitorOptions {
  /** how often an adapter's provider is probed (`refresh()`); status() alone is cheap */
  refreshEveryMs?: number;
  /** a probe that takes longer leaves the last known status */
  refreshTimeoutMs?: number;
}

/**
 * Watches the messenger adapters for /health and tells admins when one goes down (WhatsApp
 * logged out, Viber token revoked). The state is kept in `channel_states`: only the write that
 * flips a channel to down sends the notice, so it is sent once per outage, whichever process sees it.
 */
export class AdapterMonitor {
  private readonly lastOk = new Map<ChannelKind, boolean>();
  private readonly refreshedAt = new Map<ChannelKind, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly services: { ctx(): ServiceContext },
    private readonly adapters: Partial<Record<ChannelKind, ChannelAdapter | undefined>>,
    private readonly opts: AdapterMonitorOptions = {},
  ) {}

  async check(): Promise<Record<ChannelKind, ChannelHealth>> {
    const out = {} as Record<ChannelKind, ChannelHealth>;
    await Promise.all(
      channelKinds.map(async (kind) => {
        const adapter = this.adapters[kind];
        if (!adapter) return void (out[kind] = 'off');
        await this.refresh(kind, adapter);
        const status = adapter.status();
        out[kind] = status.ok ? 'ok' : 'down';
        try {
          await this.record(kind, status.ok, status.detail);
        } catch (err) {
          this.services.ctx().log.error({ err, channel: kind }, 'recording a channel state failed');
        }
      }),
    );
    return out;
  }

  /** checks every `intervalMs` in the background (the timer does not keep the process alive) */
  start(intervalMs = 30_000): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.check()
        .catch((err: unknown) => this.services.ctx().log.error({ err }, 'adapter check failed'))
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async refresh(kind: ChannelKind, adapter: ChannelAdapter): Promise<void> {
    if (!adapter.refresh) return;
    const every = this.opts.refreshEveryMs ?? 60_000;
    const last = this.refreshedAt.get(kind);
    if (last !== undefined && Date.now() - last < every) return;
    this.refreshedAt.set(kind, Date.now());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        adapter.refresh(),
        new Promise((resolve) => (timer = setTimeout(resolve, this.opts.refreshTimeoutMs ?? 3000))),
      ]);
    } catch (err) {
      // the adapter sets its own status from what failed; this is only for the log
      this.services.ctx().log.warn({ err, channel: kind }, 'adapter probe failed');
    } finally {
      clearTimeout(timer);
    }
  }

  private async record(kind: ChannelKind, ok: boolean, detail: string | undefined): Promise<void> {
    if (this.lastOk.get(kind) === ok) return;
    const ctx = this.services.ctx();
    if (ok) {
      await ctx.db.update(channelStates).set({ ok: true, detail: null, changedAt: ctx.clock.now() }).where(and(eq(channelStates.channel, kind), eq(channelStates.ok, false)));
      ctx.log.info({ channel: kind }, 'channel adapter is up');
    } else {
      const now = ctx.clock.now();
      const flipped = await ctx.db
        .insert(channelStates)
        .values({ channel: kind, ok: false, detail: detail ?? null, changedAt: now })
        .onConflictDoUpdate({
          target: channelStates.channel,
          set: { ok: false, detail: detail ?? null, changedAt: now },
          setWhere: sql`${channelStates.ok} = true`,
        })
        .returning({ changedAt: channelStates.changedAt });
      ctx.log.warn({ channel: kind, detail }, 'channel adapter is down');
      if (flipped.length) {
        const admins = await ctx.db.select({ id: users.id }).from(users).where(and(eq(users.role, 'admin'), eq(users.active, true)));
        await notify(
          ctx,
          admins.map((a) => ({
            kind: 'adapter_down' as const,
            userId: a.id,
            text: adapterDownText(kind, detail),
            dedupeKey: `adapter:${kind}:down:${flipped[0]!.changedAt.getTime()}`,
          })),
        );
      }
    }
    this.lastOk.set(kind, ok);
  }
}
