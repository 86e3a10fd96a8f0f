import type { Services } from '../services.js';
import type { TelephonyClients } from './types.js';

export const RECORDING_JOB = 'telephony.recording';

/** STUB (contract only): the job that fetches a finished call's recording into DATA_DIR. */
export function registerRecordingJobs(_services: Services, _clients: TelephonyClients): void {}
