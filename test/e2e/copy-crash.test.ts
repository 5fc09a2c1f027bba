// The copy engine killed mid-run, judged by the sandbox's ledger of every
// StartCopyJob call and copy job (test/helpers/copy.ts):
// - a crash at every named step of the copy protocol, one after another, then
//   a clean run: the same verdict;
// - SIGKILL at 12 random moments of a 5,000-point run, restarting each time:
//   exactly one job per eligible point.

import t from 'tap';
import { CRASH_STEPS } from '../../daemon/copy/crash.js';
import { assertClean, copySandbox, expectExit, ledgerVerdict, runOnce } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';

// Six runs killed at a protocol step, then a 5,000-point run killed twelve times: minutes, not the suite's default.
t.setTimeout(1_200_000);

t.test('a crash at every named step of the copy protocol, then a restart: same verdict', async (t) => {
  const sandbox = await copySandbox(t, 500, {}, 4);
  // after-adopt needs something to adopt: the crash right after a StartCopyJob answer leaves exactly that.
  const order = [
    'after-intent',
    'after-start-call',
    'after-adopt',
    'after-record-start',
    'after-record-finish',
    'after-verify',
  ];
  t.same([...order].sort(), [...CRASH_STEPS].sort(), 'every step is enumerated');
  for (const step of order) {
    const run = await runOnce(t, sandbox, { RPCOPY_CRASH_AT: `${step}:${step === 'after-adopt' ? 1 : 3}` });
    t.equal(run.signal, 'SIGKILL', `the daemon died at ${step}`);
    if (run.signal !== 'SIGKILL') t.comment(run.output.slice(-3000));
  }
  const final = await runOnce(t, sandbox);
  expectExit(t, final, 'the final run finishes');
  assertClean(t, await ledgerVerdict(sandbox), 'after six crashes');
  const summary = await sandbox.admin.ledgerSummary();
  t.equal(summary.pointsWithMultipleJobs, 0);
});

t.test('SIGKILL at 12 random moments of a 5,000-point run: exactly one job per eligible point', async (t) => {
  const sandbox = await copySandbox(t, 5_000, {}, 8);
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let kills = 0;
  // 12 kills, not more: each costs a restart and the copy phase's start-up, and CI has 30 minutes for everything.
  for (let i = 0; i < 12; i++) {
    const daemon = spawnDaemon(['--once'], sandbox.env, t);
    // Let it reach the copy phase, then kill it a random moment later.
    await waitFor(
      async () => {
        if (daemon.child.exitCode !== null) return true;
        const s = await runCtlAsync(['status', '--json'], sandbox.env);
        return s.code === 0 && JSON.parse(s.stdout).phase === 'copy';
      },
      'the copy phase',
      120_000,
      100,
    );
    await new Promise((r) => setTimeout(r, 200 + random() * 3_000));
    if (daemon.child.exitCode === null) {
      daemon.child.kill('SIGKILL');
      kills += 1;
    }
    await daemon.exited;
  }
  t.ok(kills >= 9, `the daemon was killed mid-run ${kills} times`);
  const final = await runOnce(t, sandbox);
  expectExit(t, final, 'the final run finishes');
  const verdict = await ledgerVerdict(sandbox);
  assertClean(t, verdict, `after ${kills} kills`);
  t.ok(verdict.items >= 5_000, `a run of ${verdict.items} points`);
  t.equal((await sandbox.admin.ledgerSummary()).pointsWithMultipleJobs, 0);
});
