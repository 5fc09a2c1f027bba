// rpctl watch against the built daemon and the sandbox (issue #8):
// - in a tmux pane (a real terminal): the live screen shows the run; the source account's keys expire and nobody
//   refreshes them, so the daemon pauses: the pause banner says what happened and that Enter resumes; Enter while
//   the token is still expired shows the daemon's refusal; the keys are rotated, Enter resumes (or the daemon's
//   file watcher got there first: the same verified resume); the banner goes, the daemon runs; q quits and the
//   terminal is restored (normal screen, cursor shown, exit 0). Skipped with a reason where tmux is absent.
// - alongside, through the same pause and resume: `rpctl watch` with a pipe for stdout prints plain lines (no
//   escape sequences), and `rpctl watch --json` prints the stream's events as JSON lines; both exit 0 when the
//   daemon stops;
// - a full copy run watched with --json: the per-vault progress (computed on the daemon's worker thread) adds up
//   to the status's counts once the run is done;
// - no daemon: exit 4.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { applyStatus, emptyView, renderScreen } from '../../ctl/watch/view.js';
import type { StatusResponse, WatchJournalEvent, WatchVaults } from '../../shared/api.js';
import { tuneConfig } from '../helpers/copy.js';
import {
  type DaemonProcess,
  ROOT,
  RPCTL,
  runCtlAsync,
  shortTempDir,
  spawnDaemon,
  waitFor,
} from '../helpers/process.js';
import { type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';

t.setTimeout(300_000);

const SOURCE_PROFILE = 'rpcopy-source';
const HAS_TMUX = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;

interface Watcher {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** rpctl watch with pipes: stdout is not a terminal. */
function spawnWatcher(args: string[], env: NodeJS.ProcessEnv, t: Test): Watcher {
  const child = spawn(process.execPath, [RPCTL, 'watch', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output, exited };
}

/**
 * The daemon states a --json watcher's status events reported so far. Only a status event's own state counts:
 * the same key appears elsewhere in the stream (a vault's inventory state, say). A last line still being written
 * is left for the next look.
 */
function watchedStates(output: string): string[] {
  const states: string[] = [];
  for (const line of output.split('\n')) {
    let message: { event: string; data: { status?: StatusResponse } };
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (message.event === 'status' && message.data.status) states.push(message.data.status.state);
  }
  return states;
}

async function status(env: NodeJS.ProcessEnv): Promise<StatusResponse | undefined> {
  const s = await runCtlAsync(['status', '--json'], env);
  return s.code === 0 ? (JSON.parse(s.stdout) as StatusResponse) : undefined;
}

async function waitForStatus(
  daemon: DaemonProcess,
  env: NodeJS.ProcessEnv,
  what: string,
  done: (s: StatusResponse) => boolean,
) {
  let last: StatusResponse | undefined;
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null)
        throw new Error(`daemon exited while waiting for ${what}:\n${daemon.output()}`);
      last = await status(env);
      return last !== undefined && done(last);
    },
    what,
    120_000,
    100,
  );
  return last!;
}

/** A private tmux server for the test, killed at teardown. */
function tmuxServer(t: Test) {
  const name = `rpcw-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', name, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  t.teardown(() => {
    tmux('kill-server');
  });
  return {
    tmux,
    capture: () => tmux('capture-pane', '-p', '-t', 'watch').stdout,
    async waitForPane(what: string, test: (screen: string) => boolean): Promise<string> {
      let screen = '';
      try {
        await waitFor(
          () => {
            screen = tmux('capture-pane', '-p', '-t', 'watch').stdout;
            return test(screen);
          },
          what,
          60_000,
          100,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; the pane shows:\n${screen}`);
      }
      return screen;
    },
  };
}

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

t.test(
  'a pause in tmux: the banner, Enter refused then resumes, q quits; plain and --json watchers alongside',
  async (t) => {
    const sandbox = await startSandboxProcess(t, { points: 4000, seed: 31, timeFactor: 1000 });
    // A dry run with small pages: the inventory spans a few hundred rate-limited calls, time enough to pause it.
    writeFileSync(
      sandbox.config,
      `${readFileSync(sandbox.config, 'utf8')}\n[inventory]\npage_size = 10\nparallel_vaults = 3\n`,
    );
    const credentialsFile = sandbox.env.AWS_SHARED_CREDENTIALS_FILE!;
    const daemon = spawnDaemon(['--dry-run'], sandbox.env, t);
    await waitForStatus(daemon, sandbox.env, 'the inventory to list some pages', (s) => s.inventory.pages > 5);

    const plain = spawnWatcher([], sandbox.env, t);
    const json = spawnWatcher(['--json'], sandbox.env, t);
    await waitFor(() => /"event":"snapshot"/.test(json.output()), 'the --json watcher’s snapshot');

    let pane: ReturnType<typeof tmuxServer> | undefined;
    if (!HAS_TMUX) {
      t.comment('tmux is not installed: the terminal part of this test is skipped (apt-get install tmux)');
    } else {
      pane = tmuxServer(t);
      const env = Object.entries({ ...sandbox.env, TERM: 'xterm-256color' })
        .map(([k, v]) => `${k}=${shellQuote(String(v))}`)
        .join(' ');
      const command = `cd ${shellQuote(ROOT)} && env ${env} ${shellQuote(process.execPath)} ${shellQuote(RPCTL)} watch; echo "watch-exit=$?"; sleep 600`;
      const started = pane.tmux('new-session', '-d', '-s', 'watch', '-x', '160', '-y', '50', command);
      t.equal(started.status, 0, `tmux new-session ${started.stderr}`);
      const first = await pane.waitForPane('the live screen', (s) => /rpctl watch · running · phase inventory/.test(s));
      t.match(first, /inventory\s+[█░]+ \d+\/\d+ vaults/, 'a bar for the inventory');
      t.match(first, /recent events/);
    }

    // The keys expire and nobody refreshes them: the daemon pauses after 3 rejections.
    await sandbox.admin.expireCredentials('source');
    const paused = await waitForStatus(daemon, sandbox.env, 'the credentials pause', (s) => {
      if (s.state === 'done') throw new Error('the dry run finished before the pause: make it longer');
      return s.state === 'paused';
    });
    t.equal(paused.pauseReason, 'credentials');

    if (pane) {
      const banner = await pane.waitForPane('the pause banner', (s) => /PAUSED \(credentials\)/.test(s));
      t.match(banner, /rpctl watch · paused \(credentials\)/, 'the header says paused');
      t.match(banner, /AWS rejected its credentials 3 times in a row/, 'the banner says what happened');
      t.match(banner, /Press Enter to resume \(rpctl resume\)/, 'and that Enter resumes');
      t.match(banner, /error daemon\.paused/, 'the pause is among the recent events');

      // Enter while the token is still expired: the daemon checks with STS and refuses; the screen shows why.
      pane.tmux('send-keys', '-t', 'watch', 'Enter');
      const refused = await pane.waitForPane('the refusal', (s) => /Daemon: still paused/.test(s));
      t.match(refused.replace(/\s+/g, ' '), /AWS still rejects the token/, 'the daemon’s answer is shown');
      t.equal((await status(sandbox.env))?.state, 'paused', 'still paused');

      // The operator refreshes the token and presses Enter.
      await sandbox.admin.rotateCredentials('source', credentialsFile, SOURCE_PROFILE);
      pane.tmux('send-keys', '-t', 'watch', 'Enter');
      const resumed = await pane.waitForPane(
        'the banner to go',
        (s) => !/PAUSED/.test(s) && /rpctl watch · (running|done) ·/.test(s) && /daemon\.resumed/.test(s),
      );
      t.match(
        resumed,
        /Resume: (resumed \(was paused: credentials; STS accepted both accounts’ credentials\)|not paused)/,
      );
      const after = await status(sandbox.env);
      t.match(after?.state, /^(running|done)$/, `the daemon runs again (${after?.state})`);
      t.comment(
        `the resume came from ${/"trigger":"credentials-file"/.test(daemon.output()) ? 'the credentials file watcher (first)' : 'Enter'}`,
      );

      // q quits: exit 0, and the terminal is back (normal screen, cursor visible).
      pane.tmux('send-keys', '-t', 'watch', 'q');
      const quit = await pane.waitForPane('rpctl watch to exit', (s) => /watch-exit=\d+/.test(s));
      t.match(quit, /watch-exit=0/, 'q: exit 0');
      t.equal(pane.tmux('display-message', '-p', '-t', 'watch', '#{alternate_on} #{cursor_flag}').stdout.trim(), '0 1');
    } else {
      await sandbox.admin.rotateCredentials('source', credentialsFile, SOURCE_PROFILE);
      await waitForStatus(daemon, sandbox.env, 'the resume', (s) => s.state !== 'paused');
    }

    await waitForStatus(daemon, sandbox.env, 'the dry run to finish', (s) => s.state === 'done');
    // The watchers get a status a second: stopping the moment rpctl status says done could beat their next one.
    await waitFor(
      () => watchedStates(json.output()).includes('done') && /^\d\d:\d\d:\d\d done, phase done; /m.test(plain.output()),
      'both watchers to show the finished run',
    );
    await runCtlAsync(['stop'], sandbox.env);
    t.equal((await daemon.exited).code, 0, 'the daemon stops');
    t.equal(await plain.exited, 0, 'plain watcher: exit 0 when the daemon stops');
    t.equal(await json.exited, 0, '--json watcher: exit 0 when the daemon stops');

    const text = plain.output();
    t.notOk(text.includes('\u001b'), 'plain lines: no escape sequences');
    t.match(text, /^\d\d:\d\d:\d\d running, phase inventory; /m, 'a line for the state');
    t.match(text, /^\d\d:\d\d:\d\d paused \(credentials\), phase inventory; .*\n\d\d:\d\d:\d\d why: source account/m);
    t.match(text, /^\d\d:\d\d:\d\d error daemon\.paused: source account/m, 'a line per event');
    t.match(text, /^\d\d:\d\d:\d\d info {2}daemon\.resumed: resumed/m);
    t.match(text, /^\d\d:\d\d:\d\d done, phase done; /m);
    t.match(text, /rpctl watch: rpcopyd stopped; the stream ended\n$/);

    const lines = json
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; data: Record<string, unknown> });
    t.equal(lines[0]?.event, 'snapshot', 'the stream opens with a snapshot');
    const kinds = lines.filter((l) => l.event === 'event').map((l) => (l.data as unknown as WatchJournalEvent).kind);
    for (const kind of ['daemon.paused', 'daemon.resumed', 'pipeline.done', 'daemon.stopping']) {
      t.ok(kinds.includes(kind), `--json: the ${kind} event`);
    }
    if (HAS_TMUX) t.ok(kinds.includes('daemon.resume_refused'), '--json: the refused resume (Enter in tmux)');
    const states = new Set(
      lines.filter((l) => l.event === 'status').map((l) => (l.data.status as StatusResponse).state),
    );
    t.ok(states.has('paused') && states.has('running') && states.has('done'), `status events: ${[...states]}`);
    const ids = lines.filter((l) => l.event === 'event').map((l) => (l.data as unknown as WatchJournalEvent).id);
    t.same(
      ids,
      [...ids].sort((a, b) => a - b),
      'events in the order they were recorded',
    );
    t.equal(new Set(ids).size, ids.length, 'each once');
  },
);

t.test('a copy run watched with --json: per-vault progress adds up to the counts', async (t) => {
  const sandbox: RunningSandbox = await startSandboxProcess(t, {
    points: 400,
    seed: 3,
    timeFactor: 100_000,
    extraArgs: ['--no-throttling'],
  });
  tuneConfig(sandbox);
  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(async () => (await status(sandbox.env)) !== undefined, 'the daemon');
  const json = spawnWatcher(['--json'], sandbox.env, t);
  let final: { status: StatusResponse; vaults: WatchVaults } | undefined;
  await waitFor(
    () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      for (const line of json.output().trim().split('\n').reverse()) {
        if (!line) continue;
        const m = JSON.parse(line) as { event: string; data: { status: StatusResponse; vaults: WatchVaults | null } };
        if (m.event !== 'status' || m.data.status.state !== 'done' || !m.data.vaults) continue;
        const v = m.data.vaults;
        const settled = v.vaults.reduce((n, x) => n + x.verified + x.failed, 0);
        const planned = v.vaults.reduce((n, x) => n + x.toCopy, 0);
        // The per-vault figures trail the status by a few seconds: wait for one computed after the end.
        if (planned > 0 && settled === planned) {
          final = { status: m.data.status, vaults: v };
          return true;
        }
        return false;
      }
      return false;
    },
    'a status of the finished run with its per-vault progress',
    120_000,
    200,
  );
  const { status: s, vaults } = final!;
  const c = s.counts;
  t.ok(vaults.vaults.length > 3, `${vaults.vaults.length} vaults`);
  // Points the copy phase has not grouped, or that failed before it grouped them, are attributed to their
  // source vault, as the HTML report does: none is left over.
  const planned = c.queued + c.inFlight + c.completed + c.failed;
  t.equal(vaults.unassigned, 0, 'every planned point is attributed to a vault');
  t.equal(
    vaults.vaults.reduce((n, v) => n + v.toCopy, 0),
    planned,
    'every planned point counted once',
  );
  t.equal(
    vaults.vaults.reduce((n, v) => n + v.verified, 0),
    c.completed,
    'verified',
  );
  t.equal(
    vaults.vaults.reduce((n, v) => n + v.failed, 0),
    c.failed,
    'failed',
  );
  // The report's attribution: each point's own source vault.
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  const byVault = db
    .prepare(
      `SELECT p.vault_name AS vault, count(*) AS toCopy, sum(i.state = 'failed') AS failed
       FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
       WHERE i.state NOT IN ('skipped', 'discovered') GROUP BY 1 ORDER BY 1`,
    )
    .all() as { vault: string; toCopy: number; failed: number }[];
  db.close();
  t.same(
    vaults.vaults.map((v) => ({ vault: v.vault, toCopy: v.toCopy, failed: v.failed })),
    byVault,
    'the same vaults and counts as the report',
  );
  t.ok(
    vaults.vaults.some((v) => v.destination !== null),
    'vaults name their destination vault',
  );

  // The terminal view of that status: a bar per vault.
  const view = emptyView();
  applyStatus(view, s, vaults);
  const screen = renderScreen(view, { width: 160, height: 50, color: false }).join('\n');
  for (const v of vaults.vaults) t.match(screen, new RegExp(`^  ${v.vault}\\b.*[█░]+ ${v.verified}/${v.toCopy}`, 'm'));
  t.match(
    screen,
    new RegExp(`copy\\s+[█░]+ ${c.completed}/${planned} verified \\(\\d+%\\) · 0 in flight · ${c.failed} failed`),
  );

  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await daemon.exited).code, 0);
  t.equal(await json.exited, 0);
});

t.test('no daemon: exit 4', async (t) => {
  const dir = shortTempDir(t);
  const result = await runCtlAsync(['watch', '--state-dir', dir]);
  t.equal(result.code, 4, result.stderr);
  t.match(result.stderr, /rpcopyd is not running/);
});
