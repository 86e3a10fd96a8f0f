import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `crm` command as a user runs it: `node api/bin/crm.js …`, a process of its own. */
export const crmBin = fileURLToPath(new URL('../../api/bin/crm.js', import.meta.url));

export interface CrmRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `crm ARGS` to its end with exactly the given environment. */
export function runCrm(args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<CrmRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crmBin, ...args], { env: opts.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
