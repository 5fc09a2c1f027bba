// Where rpctl fleet looks for daemons: installed template instances (their drop-in's install record, or the
// config of an instance enabled by hand), --state-dir and a list file; one entry per state directory. And the
// order and totals of its table.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { type FleetPair, sortPairs, totalsOf } from '../../ctl/fleet/collect.js';
import { discoverFleet } from '../../ctl/fleet/discover.js';
import { DROP_IN_FILE, renderSystemdDropIn } from '../../ctl/service/units.js';
import { writeTestConfig } from '../helpers/config.js';

t.test('units, flags and a list file, each state directory once', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rpc-fleet-'));
  const user = join(home, '.config', 'systemd', 'user');
  mkdirSync(join(user, 'rpcopyd@alpha.service.d'), { recursive: true });
  writeFileSync(
    join(user, 'rpcopyd@alpha.service.d', DROP_IN_FILE),
    renderSystemdDropIn({
      name: 'alpha',
      shutdownTimeoutMs: 20_000,
      environment: {},
      record: { config: '/etc/alpha.toml', stateDir: '/srv/alpha' },
    }),
  );
  // bravo: enabled from the template by hand, no drop-in: its config says where its state is.
  mkdirSync(join(user, 'default.target.wants'), { recursive: true });
  writeFileSync(join(user, 'default.target.wants', 'rpcopyd@bravo.service'), '');
  const rpcopy = join(home, '.config', 'rpcopy');
  writeTestConfig(rpcopy, { stateDir: '/srv/bravo' });
  const { renameSync } = await import('node:fs');
  renameSync(join(rpcopy, 'config.toml'), join(rpcopy, 'bravo.toml'));
  // charlie: enabled by hand, no config anywhere.
  writeFileSync(join(user, 'default.target.wants', 'rpcopyd@charlie.service'), '');
  const list = join(home, 'fleet.list');
  writeFileSync(list, '# the shared list\n/srv/alpha\nrelative/delta   # a comment\n\n');
  const found = discoverFleet({
    stateDirs: ['/srv/echo', '/srv/alpha'],
    listFile: list,
    env: { XDG_CONFIG_HOME: join(home, '.config') },
    home,
  });
  t.same(
    found.map((m) => [m.name, m.source, m.unit, m.stateDir]),
    [
      ['alpha', 'systemd', 'rpcopyd@alpha.service', '/srv/alpha'],
      ['bravo', 'systemd', 'rpcopyd@bravo.service', '/srv/bravo'],
      ['charlie', 'systemd', 'rpcopyd@charlie.service', null],
      ['/srv/echo', 'state-dir', null, '/srv/echo'],
      ['~/relative/delta', 'list', null, join(home, 'relative', 'delta')],
    ],
  );
  t.match(found[2]?.problem, /rpcopy\/charlie\.toml/, 'charlie says why its state directory is unknown');
  t.equal(found[0]?.socket, '/srv/alpha/rpcopyd.sock');
});

t.test('down and paused pairs first; totals add what answered', async (t) => {
  const pair = (name: string, over: Partial<FleetPair>): FleetPair =>
    ({
      name,
      reachable: true,
      state: 'running',
      planned: 10,
      copied: 5,
      failed: 1,
      inFlight: 2,
      finishAt: null,
      cost: null,
      ...over,
    }) as FleetPair;
  const cost = (low: number, high: number) => ({
    peakMonth: '2027-01',
    monthlyCostLow: low,
    monthlyCostHigh: high,
    totalCostLow: low * 12,
    totalCostHigh: high * 12,
    copiedMonthlyCostLow: 0,
    copiedMonthlyCostHigh: 0,
    currency: 'USD',
  });
  const pairs = sortPairs([
    pair('a', { cost: cost(1, 2), finishAt: '2027-01-02T00:00:00.000Z' }),
    pair('b', { state: 'paused' }),
    pair('c', { reachable: false, state: 'unreachable', planned: 0, copied: 0, failed: 0, inFlight: 0 }),
    pair('d', { cost: cost(3, 4.5), finishAt: '2027-02-01T00:00:00.000Z' }),
  ]);
  t.same(
    pairs.map((p) => p.name),
    ['c', 'b', 'a', 'd'],
  );
  const totals = totalsOf(pairs);
  t.match(totals, {
    pairs: 4,
    unreachable: 1,
    paused: 1,
    planned: 30,
    copied: 15,
    progressPercent: 50,
    finishAt: '2027-02-01T00:00:00.000Z',
    monthlyCostLow: 4,
    monthlyCostHigh: 6.5,
  });
});
