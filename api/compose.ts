/**
 * What a CRM process is made of, built in one place: main.ts starts it for a role, and the tests
 * build the same thing with fakes for what lives on the internet. A new messenger or provider is
 * a folder under bots/ exporting a ChannelModule, and one line in `channels` below: the Record
 * makes a missing one a type error.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../core/services.js';
import { systemActor } from '../core/context.js';
import { AdapterMonitor, type AdapterMonitorOptions } from '../core/channels/monitor.js';
import { registerChannelJobs } from '../core/channels/send-job.js';
import { channelKinds, type ChannelAdapter, type ChannelKind } from '../core/channels/types.js';
import { mailEnv } from '../core/mail/env.js';
import { registerMailProcessors } from '../core/mail/processors.js';
import { ensureMailImportSchedules } from '../core/mail/mailboxes.js';
import { registerWorkJobs, scheduleWorkDigest } from '../core/works/reminders.js';
import { registerImportJobs } from '../core/imports/jobs.js';
import type { ChannelModule, ChannelModules, ChannelRole } from '../bots/channel-module.js';
import { setupTelegram, type TelegramExtensions } from '../bots/telegram/index.js';
import { viberChannel } from '../bots/viber/index.js';
import type { MediaFetcher } from '../bots/viber/inbound.js';
import { whatsappChannel, type WhatsAppChannelOptions } from '../bots/whatsapp/index.js';
import { mangoTelephony } from '../bots/mango/index.js';
import { zebraTelephony } from '../bots/zebra/index.js';
import { pbxWebhook } from '../bots/pbx/index.js';
import { phoneProviders, type TelephonyClients, type TelephonyModule, type TelephonyModules } from '../core/telephony/types.js';
import { registerRecordingJobs } from '../core/telephony/recordings.js';
import { registerHelpdeskJobs } from '../core/helpdesk/sla.js';
import { buildApp } from './app.js';

export type Role = 'all' | 'web' | 'worker' | 'bots';

/** The parts of the CRM a process runs. */
export interface Parts extends ChannelRole {
  /** runs jobs: notifications, sends, imports, mail */
  worker: boolean;
}

export const partsOf = (role: Role): Parts => ({
  web: role === 'all' || role === 'web',
  worker: role === 'all' || role === 'worker',
  bots: role === 'all' || role === 'bots',
});

export interface ComposeOptions {
  /** stand-ins for services on the internet (tests) */
  whatsapp?: WhatsAppChannelOptions;
  viberFetchMedia?: MediaFetcher;
  telegram?: TelegramExtensions;
  monitor?: AdapterMonitorOptions;
  /** a worker without the jobs other tests provide themselves (e.g. recording notifications) */
  skipWorkerJobs?: ('notifications' | 'mail')[];
}

export interface Crm {
  channels: ChannelModules;
  /** R20: the telephony providers configured (null: not configured) */
  telephony: TelephonyModules;
  adapters: Record<ChannelKind, ChannelAdapter | undefined>;
  monitor: AdapterMonitor;
  /** the HTTP app of a web process, channel webhooks mounted; not listening yet */
  app: FastifyInstance | undefined;
  telegramBot: ReturnType<typeof setupTelegram>['bot'];
  /** after the app listens: jobs, channel connections, the adapter monitor */
  start(): Promise<void>;
  /** stop taking work, finish what is in flight; the caller closes Services */
  stop(): Promise<void>;
}

export async function composeCrm(services: Services, parts: Parts, opts: ComposeOptions = {}): Promise<Crm> {
  // a call is one more way a client reaches us: each provider is a folder under bots/ too
  const telephony: TelephonyModules = {
    mango: mangoTelephony(services),
    zebra: zebraTelephony(services),
    generic: pbxWebhook(services),
  };
  const phoneModules = phoneProviders.map((p) => telephony[p]).filter((m): m is TelephonyModule => m !== null);
  const phones: TelephonyClients = Object.fromEntries(phoneModules.filter((m) => m.client).map((m) => [m.provider, m.client]));
  const telegram = setupTelegram(services, parts, { ...opts.telegram, telephony: phones });
  const channels: ChannelModules = {
    telegram: telegram.module,
    viber: viberChannel(services, parts, opts.viberFetchMedia ? { fetchMedia: opts.viberFetchMedia } : {}),
    whatsapp: await whatsappChannel(services, parts, opts.whatsapp),
  };
  const modules = channelKinds.map((k) => channels[k]).filter((m): m is ChannelModule => m !== null);
  const adapters = Object.fromEntries(channelKinds.map((k) => [k, channels[k]?.adapter])) as Crm['adapters'];
  const monitor = new AdapterMonitor(services, adapters, opts.monitor);

  let app: FastifyInstance | undefined;
  if (parts.web) {
    app = await buildApp(services, { channels: monitor, admin: { telephony: phones } });
    for (const m of modules) if (m.routes) await app.register(m.routes);
    for (const m of phoneModules) if (m.routes) await app.register(m.routes);
  }
  const skip = new Set(opts.skipWorkerJobs ?? []);
  let jobsStarted = false;

  return {
    channels,
    telephony,
    adapters,
    monitor,
    app,
    telegramBot: telegram.bot,
    async start() {
      if (parts.worker) {
        if (!skip.has('notifications')) telegram.registerWorker();
        registerWorkJobs(services);
        registerImportJobs(services.jobs, (actor) => services.ctx(actor));
        registerRecordingJobs(services, phones);
        // WhatsApp sends belong to the process holding its session; a worker without it leaves
        // them to that process, unless WhatsApp is off (then they are marked undelivered)
        const sendsHere = { ...adapters } as Partial<Crm['adapters']>;
        if (!adapters.whatsapp && services.config.WHATSAPP_ENABLED) delete sendsHere.whatsapp;
        registerChannelJobs(services.jobs, services, sendsHere);
        if (!skip.has('mail')) {
          const mail = mailEnv(services);
          registerMailProcessors(services.jobs, { ctx: () => services.ctx(systemActor('почта')), env: mail });
          await ensureMailImportSchedules(services.ctx(systemActor('почта')), mail);
        }
        await scheduleWorkDigest(services);
        await registerHelpdeskJobs(services);
        jobsStarted = true;
      } else if (adapters.whatsapp) {
        registerChannelJobs(services.jobs, services, { whatsapp: adapters.whatsapp });
        jobsStarted = true;
      }
      if (jobsStarted) await services.jobs.start();
      for (const m of modules) await m.start();
      monitor.start();
    },
    async stop() {
      for (const m of modules) await m.stop();
      await monitor.stop();
      await app?.close();
    },
  };
}
