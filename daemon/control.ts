// The control server's side of the daemon: the reloader (rpctl reload, SIGHUP, rpctl config show), rpctl
// status's answer, rpctl watch's stream and the API's services, served on the Unix socket. Built last, from the
// parts startDaemon has wired, and the socket appears only once everything it answers from exists.

import { rmSync } from 'node:fs';
import type { DaemonState } from '../shared/api.js';
import type { Config, ConfigOverrides } from '../shared/config.js';
import { buildApi, closeServer, listenOnSocket } from './api.js';
import { apiServices, type ReadWorkers } from './api-services.js';
import type { CredentialSession } from './aws/credentials.js';
import type { Account } from './aws/operations.js';
import type { AwsPort } from './aws/port.js';
import type { CopyPhase } from './copy/phase.js';
import type { SubscribableJournal } from './events.js';
import type { Logger } from './log.js';
import type { Notifier } from './notify.js';
import type { PauseGate, Pauser } from './pause.js';
import type { Pipeline } from './pipeline.js';
import { createReloader, type Reloader } from './reload.js';
import type { ResumeController } from './resume.js';
import type { RunSupervisor } from './run-supervisor.js';
import type { LiveSettings } from './settings.js';
import type { Closers } from './shutdown.js';
import { statusBuilder } from './status.js';
import type { Store } from './store/store.js';
import { createWatchHub } from './watch.js';
import type { ChangeWindow } from './window.js';

/** What the control server answers from. */
export interface ControlParts {
  config: Config;
  configOverrides: ConfigOverrides;
  version: string;
  mode: 'service' | 'once';
  runMode: 'copy' | 'dry_run' | 'no_copy';
  log: Logger;
  startedAt: Date;
  socket: string;
  runId: number;
  store: Store;
  journal: SubscribableJournal;
  notifier: Pick<Notifier, 'setChannels'>;
  readers: ReadWorkers;
  sessions: Record<Account, CredentialSession>;
  port: AwsPort;
  gate: PauseGate;
  pause: Pauser;
  resume: ResumeController;
  copy: CopyPhase | undefined;
  pipeline: Pipeline;
  changeWindow: ChangeWindow;
  settings: LiveSettings;
  supervisor: RunSupervisor;
  /** window.max_runtime, or rpcopyd --max-runtime. */
  maxRuntimeMs: number | undefined;
  signal: AbortSignal;
  runState(): DaemonState;
  state(): DaemonState;
  stop(reason: string): void;
}

/** rpctl reload, SIGHUP and rpctl config show (reload.ts): live keys change the running config in place. */
function reloaderOf(parts: ControlParts): Reloader {
  const { config, store, journal, startedAt, copy, notifier, changeWindow, supervisor } = parts;
  return createReloader({
    ...{ config, overrides: parts.configOverrides, store, journal, startedAt },
    hooks: {
      ...(copy ? { setMaxInFlight: (n: number) => copy.setMaxInFlight(n) } : {}),
      setDrain: (drainMs) => supervisor.setDrain(drainMs),
      setNotify: (channels) => notifier.setChannels(channels),
      setSchedule: () => {
        changeWindow.configure(config.window);
        supervisor.rescheduled();
      },
    },
  });
}

/**
 * Serve the control API on the socket; its closers (the socket, then the watch streams, which close first, so
 * that no open stream delays the stop) join `closers`.
 */
export async function startControl<C>(parts: ControlParts, closers: Closers<C>): Promise<Reloader> {
  const { config, version, startedAt, runId, store, gate, runState, pipeline, sessions, supervisor } = parts;
  const { copy, journal, log, socket, changeWindow, maxRuntimeMs } = parts;
  const reloader = reloaderOf(parts);
  const showWindow = changeWindow.scheduled || maxRuntimeMs !== undefined;
  const statusParts = { config, version, startedAt, runId, store, gate, runState, pipeline, sessions, supervisor };
  const status = statusBuilder({ ...statusParts, copy, showWindow, runMode: parts.runMode });
  // rpctl watch's stream: shares one status() per second among all watchers and relays the journal.
  const watchHub = createWatchHub({ journal, status, storeFile: store.file, log: log.child({ component: 'watch' }) });
  const api = apiServices({ ...parts, reloader, watchHub, status });
  // Read both accounts' credentials once before listening: the SDK's provider chain loads its modules on first
  // use, a few hundred milliseconds of synchronous work that would otherwise stall the first `rpctl status`.
  // A failure here is not fatal: the first AWS call reports it and the credential session handles it.
  await Promise.allSettled([sessions.source.credentials(), sessions.destination.credentials()]);
  const server = await listenOnSocket(buildApi(api, log), socket);
  const removeSocket = () => rmSync(socket, { force: true });
  closers.add({ name: 'the control socket', close: () => closeServer(server), abort: removeSocket });
  closers.add({ name: 'the watch streams', close: () => watchHub.close() });
  return reloader;
}
