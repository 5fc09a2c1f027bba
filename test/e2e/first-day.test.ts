// A new operator's first day, as the README's first-run checklist says it, against the sandbox: the profiles in
// ~/.aws, `rpctl init --out ~/.config/rpcopy/config.toml`, the CONFIRM lines edited, `rpcopyd --check-config`,
// `rpcopyd --dry-run` with `rpctl plan` and `rpctl preflight` beside it (nothing written to the destination), then
// `rpctl service install` (a stand-in systemctl) and the unit's ExecStart run as systemd would. The rest of the
// day: a re-exported CSV with an unclosed quote pauses the service (metadata_csv) before any write, the operator
// fixes it and restarts; the run finishes with the air-gapped vault's points waiting (vault_needs_consent); the
// operator sets vaults.confirm_compliance_lock, `rpctl reload` says it needs a restart, and after the restart
// those points are copied too. No --config anywhere: every step finds the config where init put it. Installing
// to a fresh prefix is install.test.ts (npm pack and npm install -g cost more than the rest of this file).

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertClean, ledgerVerdict } from '../helpers/copy.js';
import { ROOT, runCtlAsync, spawnDaemon, waitFor, waitForSocket } from '../helpers/process.js';
import { DESTINATION_WRITES, type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';
import { installFakeSystemctl, type Service, startUnit, unitCommand } from '../helpers/service.js';

/** The README's "First run" section: each step this test takes must be the one it documents. */
function firstRunSection(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## First run');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end);
}

interface Status {
  state: string;
  pauseReason?: string;
  pauseDetail?: string;
  warnings?: string[];
}

async function destinationWrites(sandbox: RunningSandbox): Promise<number> {
  const counters = await sandbox.admin.counters();
  return [...DESTINATION_WRITES, 'backup:StartCopyJob'].reduce((sum, w) => sum + (counters[w]?.calls ?? 0), 0);
}

t.test(
  'the README first-run checklist, from rpctl init to a finished run as a service',
  // rpctl service install writes a systemd user unit on Linux (a launchd agent elsewhere).
  { skip: process.platform !== 'linux' && 'the systemd unit is Linux only' },
  async (t) => {
    const sandbox = await startSandboxProcess(t, {
      points: 30,
      // A seed whose air-gapped vault holds a point that is otherwise copyable.
      seed: 4,
      timeFactor: 100_000,
      extraArgs: ['--no-throttling'],
    });
    const readme = firstRunSection();
    const home = join(sandbox.dir, 'home');
    // The operator's profiles live in the default shared files; only the sandbox's endpoint is extra.
    mkdirSync(join(home, '.aws'), { recursive: true });
    copyFileSync(join(sandbox.dir, 'credentials'), join(home, '.aws', 'credentials'));
    copyFileSync(join(sandbox.dir, 'aws-config'), join(home, '.aws', 'config'));
    const env: NodeJS.ProcessEnv = {
      HOME: home,
      AWS_ENDPOINT_URL: sandbox.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: undefined,
      AWS_CONFIG_FILE: undefined,
      AWS_PROFILE: undefined,
      AWS_REGION: undefined,
      RPCOPY_CONFIG: undefined,
      XDG_CONFIG_HOME: undefined,
      XDG_STATE_HOME: undefined,
    };
    const config = join(home, '.config', 'rpcopy', 'config.toml');
    const stateDir = join(home, '.local', 'state', 'rpcopy');
    const sandboxConfig = readFileSync(sandbox.config, 'utf8');

    // 1. A config from the profiles, the source vaults and the CSV, into a folder a fresh machine does not have.
    t.match(readme, 'rpctl init --source-profile prod --destination-profile dr --csv apm.csv --out');
    t.match(readme, '~/.config/rpcopy/config.toml');
    const csv = join(sandbox.dir, 'apm.csv');
    const init = await runCtlAsync(
      [
        'init',
        '--source-profile',
        'rpcopy-source',
        '--destination-profile',
        'rpcopy-dest',
        '--csv',
        csv,
        '--out',
        config,
      ],
      env,
    );
    t.equal(init.code, 0, `rpctl init: ${init.stderr}`);
    let text = readFileSync(config, 'utf8');
    t.match(text, /account_id = "111111111111"/, 'the source account, from STS');
    t.match(text, /account_id = "222222222222"/, 'the destination account, from STS');

    // The operator's decisions on the CONFIRM lines: the destination key, the APMIDs (as a file); and, for a quick
    // run on the sandbox, a faster start rate and shorter waits.
    const key = /^encryption_key_arn = "(.*)"$/m.exec(sandboxConfig)?.[1] ?? '';
    text = text
      .replace(/^encryption_key_arn = ".*REPLACE-WITH-KEY-ID"$/m, `encryption_key_arn = "${key}"`)
      .replace(/^allowed_apmids = \[\]$/m, `allowed_apmids_file = "${join(sandbox.dir, 'allowed-apmids.txt')}"`)
      .replace(/^# max_in_flight = 100$/m, 'start_rate = 50\nlisting_lag = "4s"\nresend_window = "2s"');
    t.notMatch(text, /REPLACE-WITH|allowed_apmids = \[\]|# max_in_flight/, 'every edit found its line');
    writeFileSync(config, text);

    // 2. The config and what it points at, with nothing written and no AWS call.
    t.match(readme, 'rpcopyd --check-config');
    const checked = spawnDaemon(['--check-config'], env, t);
    const checkedExit = await checked.exited;
    t.equal(checkedExit.code, 0, `rpcopyd --check-config:\n${checked.output()}`);
    t.match(checked.output(), `${config}: OK`);

    // 3. The dry run, and rpctl plan beside it.
    t.match(readme, 'rpcopyd --dry-run');
    t.match(readme, 'rpctl plan');
    const dry = spawnDaemon(['--dry-run'], env, t);
    await waitForSocket(join(stateDir, 'rpcopyd.sock'), dry);
    await waitFor(
      async () => {
        if (dry.child.exitCode !== null) throw new Error(`the dry run exited:\n${dry.output()}`);
        const s = await runCtlAsync(['status', '--json'], env);
        return s.code === 0 && (JSON.parse(s.stdout) as { state: string }).state === 'done';
      },
      'the dry run to plan',
      60_000,
      // Each poll is an rpctl process: polled slowly, so they do not slow the daemon on a busy machine.
      1000,
    );
    const dryStatus = await runCtlAsync(['status'], env);
    t.match(dryStatus.stdout, /state\s+done \(a dry run: nothing is copied\)/, 'done never reads as copied');
    t.match(dryStatus.stdout, /\d+ queued for a copying run/);
    const plan = await runCtlAsync(['plan', '--json'], env);
    t.equal(plan.code, 0, plan.stderr);
    const planned = JSON.parse(plan.stdout) as { toCopy: number; skipped: Record<string, number> };
    t.ok(planned.toCopy > 0, `points to copy (${planned.toCopy})`);
    t.ok(Object.keys(planned.skipped).length > 0, 'and points skipped with named reasons');

    // 4. Preflight against the same daemon: a destination vault rpcopyd will create is no failure.
    t.match(readme, 'rpctl preflight');
    const preflight = await runCtlAsync(['preflight'], env);
    t.equal(preflight.code, 0, 'rpctl preflight before the first run passes');
    if (preflight.code !== 0) t.comment(preflight.stdout + preflight.stderr);
    t.match(preflight.stdout, /rpcopyd creates it/, 'and says the vaults phase creates the missing vaults');
    t.equal(await destinationWrites(sandbox), 0, 'the dry run wrote nothing to the destination');
    t.equal((await runCtlAsync(['stop'], env)).code, 0);
    t.equal((await dry.exited).code, 0, 'rpctl stop ends the dry run');

    // 5. The service, installed from a shell whose AWS_ENDPOINT_URL the unit carries; then run as systemd would.
    t.match(readme, 'rpctl service install');
    const bin = join(sandbox.dir, 'bin');
    installFakeSystemctl(bin);
    const systemctlLog = join(sandbox.dir, 'systemctl.log');
    const install = await runCtlAsync(['service', 'install'], { ...env, PATH: bin, FAKE_LOG: systemctlLog });
    t.equal(install.code, 0, install.stderr);
    t.match(readFileSync(systemctlLog, 'utf8'), /--user enable --now rpcopyd\.service/);
    const unit = readFileSync(join(home, '.config', 'systemd', 'user', 'rpcopyd.service'), 'utf8');
    t.same(
      unitCommand(unit).environment,
      { AWS_ENDPOINT_URL: sandbox.url },
      'the unit carries the endpoint from the installing shell',
    );
    const startService = (): Service => startUnit(t, unit, { home, path: bin });
    // systemctl --user restart: SIGTERM (the unit's KillSignal), then ExecStart again.
    const restartService = async (running: Service, why: string): Promise<Service> => {
      running.child.kill('SIGTERM');
      const code = await running.exited;
      t.equal(code, 0, `SIGTERM stops the service with exit 0 (${why})`);
      if (code !== 0) t.comment(running.output().slice(-3000));
      return startService();
    };
    const serviceState = async (running: Service, want: string, what: string, timeoutMs = 120_000) => {
      let last: Status | undefined;
      await waitFor(
        async () => {
          if (running.child.exitCode !== null) throw new Error(`the service exited:\n${running.output()}`);
          const s = await runCtlAsync(['status', '--json'], env);
          last = s.code === 0 ? (JSON.parse(s.stdout) as Status) : undefined;
          return last?.state === want;
        },
        what,
        timeoutMs,
        1000,
      );
      return last as Status;
    };

    // 6. Before the first real run, the CSV is exported again and comes out broken: a quote opened mid-file and
    // never closed swallows the rows after it. The service pauses on it before anything is written.
    t.match(readme, 'paused (metadata_csv)');
    t.match(readme, 'systemctl --user restart rpcopyd');
    const original = readFileSync(csv, 'utf8');
    const rows = original.split('\r\n');
    const brokenAt = Math.floor(rows.length / 2);
    writeFileSync(
      csv,
      [
        ...rows.slice(0, brokenAt),
        'arn:aws:ec2:eu-west-2:111111111111:volume/vol-0broken,APM0001001,"Billing, unclosed,team@example.com',
        ...rows.slice(brokenAt).filter((l) => !l.includes('"')),
      ].join('\r\n'),
    );
    let service = startService();
    const gated = await serviceState(service, 'paused', 'the metadata_csv pause');
    t.equal(gated.pauseReason, 'metadata_csv', 'the service pauses for the CSV');
    t.match(gated.pauseDetail, `a quote opened on line ${brokenAt + 1}`, 'naming the line');
    t.equal(await destinationWrites(sandbox), 0, 'before any copy job or destination write');
    const gatedStatus = await runCtlAsync(['status'], env);
    t.match(gatedStatus.stdout, /paused \(metadata_csv\)/, 'rpctl status says why it waits');
    t.match(gatedStatus.stdout, /WARNING\s+metadata CSV/);
    t.match(gatedStatus.stdout, /rpctl plan --list csv-problems/, 'and where the full list is');
    // The operator-guide's way out for a file that can be fixed: fix it and restart the service.
    writeFileSync(csv, original);
    service = await restartService(service, 'after the CSV is fixed');
    await serviceState(service, 'done', 'the run to finish');
    const first = await ledgerVerdict(sandbox, stateDir);
    assertClean(t, first, 'the first run');
    t.equal(first.verified, planned.toCopy, 'every point the dry run planned is copied and verified');

    // 7. The air-gapped source vault: its points wait under a named reason, never a failure.
    const consent = planned.skipped.vault_needs_consent ?? 0;
    t.ok(consent > 0, `the dry run showed points that need consent (${consent})`);
    const waiting = (await runCtlAsync(['status', '--json'], env)).stdout;
    t.match(
      (JSON.parse(waiting) as Status).warnings?.join('\n'),
      `${consent} points are skipped as vault_needs_consent`,
      'rpctl status says which points wait for the operator',
    );
    const after = await runCtlAsync(['preflight'], env);
    t.equal(after.code, 0, 'rpctl preflight after the run passes');
    if (after.code !== 0) t.comment(after.stdout);

    // The operator consents in the config and applies it with rpctl reload: a restart key, and the reload says so.
    t.match(readme, 'confirm_compliance_lock = true');
    t.match(readme, 'rpctl reload');
    const consented = readFileSync(config, 'utf8').replace(
      /^confirm_compliance_lock = false$/m,
      'confirm_compliance_lock = true',
    );
    t.match(consented, /^confirm_compliance_lock = true$/m, 'rpctl init wrote the key to confirm');
    writeFileSync(config, consented);
    const reload = await runCtlAsync(['reload'], env);
    t.equal(reload.code, 0, reload.stderr);
    t.match(reload.stdout, /restart rpcopyd to apply:\n\s+vaults\.confirm_compliance_lock\s+false → true/);
    service = await restartService(service, 'for the consent');
    await serviceState(service, 'done', 'the run after consent');
    const verdict = await ledgerVerdict(sandbox, stateDir);
    assertClean(t, verdict, 'the run after consent');
    t.equal(verdict.verified, planned.toCopy + consent, 'the points that waited are copied and verified too');
    const replanned = JSON.parse((await runCtlAsync(['plan', '--json'], env)).stdout) as typeof planned;
    t.equal(replanned.skipped.vault_needs_consent ?? 0, 0, 'none waits for consent now');
    t.notMatch((await runCtlAsync(['preflight'], env)).stdout, /rpcopyd creates it/, 'the vaults exist now');

    service.child.kill('SIGTERM');
    const code = await service.exited;
    t.equal(code, 0, 'SIGTERM stops the service with exit 0');
    if (code !== 0) t.comment(service.output().slice(-3000));
  },
);
