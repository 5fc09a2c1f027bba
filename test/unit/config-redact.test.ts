// notify.command as rpctl config show and rpctl reload print it: only its program, unless asked.

import t from 'tap';
import { isRedacted, redactValue } from '../../shared/config-view.js';

t.test('a command line keeps its program and hides the rest', async (t) => {
  const hook = 'curl -sf -H "Authorization: Bearer s3cr3t" https://hooks.example.com/T0/B0/xyz';
  t.equal(redactValue('notify.command', hook), 'curl …');
  t.equal(redactValue('notify.command', '/usr/local/bin/page-oncall --token abc'), '/usr/local/bin/page-oncall …');
  t.ok(isRedacted('notify.command', hook));
});

t.test('a first word that may be the secret itself is hidden too', async (t) => {
  t.equal(redactValue('notify.command', 'TOKEN=abc notify-send rpcopy'), '…');
  t.equal(redactValue('notify.command', 'https://hooks.example.com/T0?token=abc'), '…');
});

t.test('a bare program, an unset key and other keys are printed as they are', async (t) => {
  t.equal(redactValue('notify.command', '/usr/local/bin/notify-me'), '/usr/local/bin/notify-me');
  t.notOk(isRedacted('notify.command', '/usr/local/bin/notify-me'));
  t.equal(redactValue('notify.command', null), null);
  t.equal(redactValue('metadata.csv', '/data/apm.csv --x'), '/data/apm.csv --x');
  t.notOk(isRedacted('notify.command', undefined));
});
