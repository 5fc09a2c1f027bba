// Running the real daemon against the sandbox until its pipeline is done, and stopping it through rpctl.

import type { Test } from 'tap';
import { type DaemonProcess, runCtlAsync, spawnDaemon, waitFor } from './process.js';
import type { RunningSandbox } from './sandbox.js';

/** Start rpcopyd (service mode) with `args` and wait until its state is done; a pause or an exit fails the test. */
export async function runUntilDone(t: Test, sandbox: RunningSandbox, args: string[] = []): Promise<DaemonProcess> {
  const daemon = spawnDaemon(args, sandbox.env, t);
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      const status = await runCtlAsync(['status', '--json'], sandbox.env);
      if (status.code !== 0) return false;
      const state = JSON.parse(status.stdout);
      if (state.state === 'paused') throw new Error(`daemon paused: ${state.pauseDetail}`);
      return state.state === 'done';
    },
    'the pipeline to finish',
    120_000,
    200,
  );
  return daemon;
}

export async function stopDaemon(daemon: DaemonProcess, env: NodeJS.ProcessEnv): Promise<void> {
  await runCtlAsync(['stop'], env);
  await daemon.exited;
}
