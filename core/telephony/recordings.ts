import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { systemActor } from '../context.js';
import { notFound } from '../errors.js';
import { calls } from '../db/schema/index.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Services } from '../services.js';
import { TelephonyError, type TelephonyClients } from './types.js';

export const RECORDING_JOB = 'telephony.recording';

/**
 * Where a stored recording's file is: its path (relative to DATA_DIR, as the job writes it) resolved
 * under the recordings folder, never outside it whatever a row says.
 */
export function recordingFile(dataDir: string, stored: string): string {
  const root = path.resolve(dataDir, 'recordings');
  const file = path.resolve(dataDir, stored);
  if (path.isAbsolute(stored) || !file.startsWith(root + path.sep)) throw notFound('Запись звонка');
  return file;
}

export interface RecordingJob {
  callId: number;
  recordingId: string;
}

/**
 * A provider makes a recording available a little after the call; a fetch that fails is tried again
 * over about ten minutes (1, 2, 4, 8 minutes apart) before the recording is marked failed.
 */
const ATTEMPTS = 5;
const BACKOFF_MS = 60_000;

/** Queues the fetch of a call's recording (once per call and recording). */
export async function enqueueRecording(jobs: JobQueue, job: RecordingJob): Promise<void> {
  await jobs.add(RECORDING_JOB, job, { jobId: `rec:${job.callId}:${job.recordingId}`, attempts: ATTEMPTS, backoff: { type: 'exponential', delayMs: BACKOFF_MS } });
}

/** What the provider says the file is → its extension; anything else audio is kept as .mp3 (what both providers give). */
function extensionFor(mime: string): string {
  const m = mime.split(';')[0]!.trim().toLowerCase();
  if (m === 'audio/wav' || m === 'audio/x-wav' || m === 'audio/wave' || m === 'audio/vnd.wave') return '.wav';
  if (m === 'audio/ogg') return '.ogg';
  return '.mp3';
}

const normalMime = (mime: string) => {
  const m = mime.split(';')[0]!.trim().toLowerCase();
  return m.startsWith('audio/') ? m : 'audio/mpeg';
};

/**
 * The worker's job that fetches a finished call's recording from its provider and keeps it under
 * DATA_DIR/recordings/<yyyy>/<mm>/call-<id>.<ext> (written whole or not at all: a temporary file
 * renamed), then marks the call's recording stored. A provider's refusal that trying again cannot
 * help (TelephonyError, retryable false) fails it at once; other failures retry, then fail.
 */
export function registerRecordingJobs(services: Services, clients: TelephonyClients): void {
  services.jobs.process<RecordingJob>(RECORDING_JOB, async (job) => {
    const ctx = services.ctx(systemActor('записи звонков'));
    const { callId, recordingId } = job.data;
    const [call] = await ctx.db.select().from(calls).where(eq(calls.id, callId));
    // another recording replaced this one, or it is already kept
    if (!call || call.recordingId !== recordingId) return 'stale';
    if (call.recordingStatus === 'stored') return 'stored';
    const mark = (set: Partial<typeof calls.$inferInsert>) =>
      ctx.db
        .update(calls)
        .set({ ...set, updatedAt: ctx.clock.now() })
        .where(and(eq(calls.id, callId), eq(calls.recordingId, recordingId)));
    const client = call.provider ? clients[call.provider] : undefined;
    if (!client || !call.providerCallId) {
      ctx.log.warn({ callId, provider: call.provider }, 'telephony: no provider client to fetch a recording with');
      await mark({ recordingStatus: 'failed' });
      return 'failed';
    }
    let file: { data: Buffer; mime: string };
    try {
      file = await client.fetchRecording({ recordingId, callKey: call.providerCallId });
    } catch (err) {
      const last = job.attemptsMade + 1 >= ATTEMPTS;
      if ((err instanceof TelephonyError && !err.retryable) || last) {
        ctx.log.warn({ callId, reason: err instanceof Error ? err.message : String(err) }, 'telephony: recording not fetched');
        await mark({ recordingStatus: 'failed' });
        return 'failed';
      }
      throw err;
    }
    const mime = normalMime(file.mime);
    const at = call.at;
    const rel = path.posix.join('recordings', String(at.getUTCFullYear()), String(at.getUTCMonth() + 1).padStart(2, '0'), `call-${callId}${extensionFor(mime)}`);
    const abs = path.join(services.config.DATA_DIR, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    const tmp = `${abs}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, file.data);
      await rename(tmp, abs);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await mark({ recordingStatus: 'stored', recordingPath: rel, recordingMime: mime });
    return 'stored';
  });
}
