// rpctl fleet report --format html as an operator runs it, over state directories whose names hold markup and
// quotes: nothing listens in them, so each pair is unreachable and the page names it by its path and quotes the
// socket error with that path in it. The names reach the page as text, never as a tag or an attribute.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCtlAsync, shortTempDir } from '../helpers/process.js';

const TAG = '<img src=x onerror=alert(1)>';
const QUOTES = `"&'`;

t.test('hostile state directory names arrive in the fleet page escaped', async (t) => {
  const dir = shortTempDir(t);
  const home = join(dir, 'home');
  const tagDir = join(dir, TAG);
  const quotesDir = join(dir, `q${QUOTES}`);
  for (const d of [home, tagDir, quotesDir]) mkdirSync(d);
  const page = join(dir, 'fleet.html');
  // An empty home: no installed unit joins the fleet, only the two directories given.
  const env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    RPCOPY_STATE_DIR: undefined,
    RPCOPY_FLEET_LIST: undefined,
  };
  const run = await runCtlAsync(
    ['fleet', 'report', '--format', 'html', '--out', page, '--state-dir', tagDir, '--state-dir', quotesDir],
    env,
  );
  t.equal(run.code, 0, `the fleet report is written with both pairs down: ${run.stderr}`);
  const html = readFileSync(page, 'utf8');
  t.notOk(html.includes('<img'), 'no image tag reaches the page');
  t.notOk(html.includes(QUOTES), 'no raw quotes and ampersand reach the page');
  const tagText = '&lt;img src=x onerror=alert(1)&gt;';
  t.match(html, `<b>${dir}/${tagText}</b>`, 'the pair named by its path, as text');
  t.match(html, `<b>${dir}/q&quot;&amp;&#39;</b>`, 'quotes and an ampersand in a name, as text');
  t.match(html, `nothing listens on ${dir}/${tagText}/rpcopyd.sock`, 'the socket error quotes the path as text');
  t.equal(html.match(/unreachable: down/g)?.length, 2, 'both pairs are down');
});
