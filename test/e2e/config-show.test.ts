// rpctl config show and rpctl set against the built daemon and the sandbox: notify.command (which may carry a
// webhook token) is printed redacted unless --show-secrets, by config show and by reload; an rpctl set override
// is lifted with rpctl set KEY --clear, after which config show and the daemon use the config's value again.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { copySandbox } from '../helpers/copy.js';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { runCtlAsync } from '../helpers/process.js';

t.test('notify.command is redacted unless asked; rpctl set KEY --clear lifts an override', async (t) => {
  const sandbox = await copySandbox(t, 20);
  const env = sandbox.env;
  const notified = join(sandbox.dir, 'notified.json');
  const command = `curl -sf -H 'Authorization: Bearer s3cr3t-token' -d @- https://hooks.example.com/T0 > ${notified}`;
  const base = readFileSync(sandbox.config, 'utf8');
  const withCommand = (text: string) =>
    base.replace(/\[daemon\]/, `[notify]\ndesktop = false\ncommand = ${text}\n\n[daemon]`);
  writeFileSync(sandbox.config, withCommand(JSON.stringify(command)));
  const ctl = async (...args: string[]) => runCtlAsync(args, env);
  const shown = async (...flags: string[]) => JSON.parse((await ctl('config', 'show', '--json', ...flags)).stdout);
  const key = (config: { keys: { key: string }[] }, name: string) =>
    config.keys.find((k) => k.key === name) as Record<string, unknown>;
  const daemon = await runUntilDone(t, sandbox);

  const text = await ctl('config', 'show');
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^notify\.command\s+"curl …"\s+# redacted \(it may carry a token\)/m);
  t.notOk(text.stdout.includes('s3cr3t'), 'rpctl config show does not print the token');
  const json = await shown();
  t.equal(json.notify.command, 'curl …');
  t.equal(key(json, 'notify.command').redacted, true);
  t.notOk(JSON.stringify(json).includes('s3cr3t'), 'nor does its --json');
  const revealed = await ctl('config', 'show', '--show-secrets');
  t.ok(revealed.stdout.includes(JSON.stringify(command)), '--show-secrets prints it');
  t.equal((await shown('--show-secrets')).notify.command, command);

  // A reload prints the change as config show would: redacted.
  writeFileSync(sandbox.config, withCommand(JSON.stringify(command.replace('s3cr3t-token', 'n3w-token'))));
  const reload = await ctl('reload');
  t.equal(reload.code, 0, reload.stderr);
  t.match(reload.stdout, /notify\.command\s+"curl …" → "curl …" \(redacted: rpctl config show --show-secrets\)/);
  t.notOk(/s3cr3t|n3w-token/.test(reload.stdout), 'rpctl reload does not print the tokens');
  writeFileSync(sandbox.config, withCommand(JSON.stringify(command)));
  t.notMatch((await ctl('reload', '--json')).stdout, /s3cr3t|n3w-token/, 'nor does its --json');

  // An override wins over copy.max_in_flight until rpctl set KEY --clear lifts it.
  const status = async () => JSON.parse((await ctl('status', '--json')).stdout);
  t.equal((await status()).copy.maxInFlight, 100, 'the file’s max_in_flight');
  t.equal((await ctl('set', 'max-in-flight', '9')).code, 0);
  t.equal((await status()).copy.maxInFlight, 9, 'the override applies');
  t.same(key(await shown(), 'copy.max_in_flight').overriddenBy, { setting: 'max-in-flight', value: '9' });
  t.match(
    (await ctl('config', 'show')).stdout,
    /^copy\.max_in_flight\s+100\s+# overridden by rpctl set max-in-flight 9 \(rpctl set max-in-flight --clear lifts it\)$/m,
  );
  const cleared = await ctl('set', 'max-in-flight', '--clear');
  t.equal(cleared.code, 0, cleared.stderr);
  t.match(cleared.stdout, /max-in-flight override lifted: copy\.max_in_flight applies again \(100\)/);
  t.equal((await status()).copy.maxInFlight, 100, 'the config’s value applies again at once');
  t.match((await ctl('config', 'show')).stdout, /^copy\.max_in_flight\s+100$/m, 'config show marks no override');
  const again = JSON.parse((await ctl('set', 'max-in-flight', '--clear', '--json')).stdout);
  t.match(again, { key: 'max-in-flight', value: 100, cleared: false, message: /was not set by rpctl set/ });
  t.equal((await ctl('set', 'drain', '45m')).code, 0);
  const drain = JSON.parse((await ctl('set', 'drain', '--clear', '--json')).stdout);
  t.match(drain, { key: 'drain', cleared: true }, 'drain is lifted the same way');
  const misuse = await ctl('set', 'max-in-flight', '7', '--clear');
  t.equal(misuse.code, 2);
  t.match(misuse.stderr, /rpctl set --clear: expected KEY alone/);
  const unknown = await ctl('set', 'workers', '--clear');
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown setting "workers"; expected one of max-in-flight, drain/);

  await stopDaemon(daemon, env);
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  const kept = db.prepare(`SELECT key FROM settings WHERE key IN ('max-in-flight', 'drain')`).pluck().all();
  db.close();
  t.same(kept, [], 'no override is left for the next start');
  const noDaemon = await ctl('config', 'show');
  t.match(noDaemon.stdout, /no daemon answered/);
  t.notOk(noDaemon.stdout.includes('s3cr3t'), 'the file’s notify.command is redacted too');
});
