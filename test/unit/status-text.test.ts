// What rpctl status and rpctl watch say beside the daemon's own figures, as pure functions of a status: AWS's
// count of running copy jobs told apart from rpcopy's (never "done" beside an unexplained running job), and what
// a pause means for the jobs already started; rpctl reconcile's jobs per points.

import t from 'tap';
import { copyJobsCell } from '../../ctl/reconcile.js';
import { awsInFlightText, itemsText, pauseEffect, stateText } from '../../ctl/status.js';
import type { StatusResponse } from '../../shared/api.js';
import { copyStatus, daemonStatus } from '../helpers/status.js';

const copy = copyStatus({ awsInFlight: 3, awsInFlightNotFollowed: 1, lastSweepAt: '2026-01-01T10:00:00.000Z' });

function status(overrides: Partial<StatusResponse> = {}): StatusResponse {
  return daemonStatus({
    counts: { discovered: 100, skipped: 20, queued: 40, inFlight: 2, completed: 30, failed: 5 },
    credentials: {
      source: { profile: 's', generation: 1, consecutiveFailures: 0, reloads: 0, exhausted: false },
      destination: { profile: 'd', generation: 1, consecutiveFailures: 0, reloads: 0, exhausted: false },
    },
    copy,
    ...overrides,
  });
}

t.test('AWS’s running jobs beside rpcopy’s', async (t) => {
  t.equal(
    awsInFlightText(status()),
    "AWS reports 3 CREATED or RUNNING (1 not rpcopy's to follow: another backup plan's or tool's, or an answer still on its way)",
  );
  t.equal(
    awsInFlightText(status({ copy: { ...copy, awsInFlightNotFollowed: 0 } })),
    'AWS reports 3 CREATED or RUNNING',
  );
  t.equal(awsInFlightText(status({ copy: { ...copy, awsInFlight: null } })), '', 'nothing before the first look');
  const done = awsInFlightText(
    status({ state: 'done', phase: 'done', copy: { ...copy, awsInFlight: 1, awsInFlightNotFollowed: 1 } }),
  );
  t.match(done, /^AWS reported 1 CREATED or RUNNING at its last look \(.+\), none of them a job rpcopy follows/);
  t.notMatch(done, /AWS reports/, 'done never sits beside a present-tense running job');
  t.equal(awsInFlightText(status({ state: 'done', phase: 'done', copy: { ...copy, awsInFlight: 0 } })), '');
  // A daemon that predates the field.
  const { awsInFlightNotFollowed: _, ...older } = copy;
  t.equal(awsInFlightText(status({ copy: older })), 'AWS reports 3 CREATED or RUNNING');
});

t.test('a pause says what happens to the jobs already started', async (t) => {
  t.equal(pauseEffect(status()), undefined, 'nothing when running');
  t.match(pauseEffect(status({ state: 'paused', pauseReason: 'operator' })), /still followed and verified/);
  t.match(
    pauseEffect(status({ state: 'paused', pauseReason: 'preflight', phase: 'preflight' })),
    /nothing new starts; copy jobs started earlier are reconciled when the copy phase starts/,
  );
  t.match(
    pauseEffect(status({ state: 'paused', pauseReason: 'credentials' })),
    /AWS cannot be called: .* not followed until the credentials work again/,
  );
});

t.test('rpctl reconcile: more jobs than points is a retry, and says so', async (t) => {
  const v = { destination: 'v', copyJobs: 372, sourcePoints: 371, failedJobs: 1, destinationPoints: 371 };
  t.equal(copyJobsCell(v), '372 for 371 points (1 retried)');
  t.equal(copyJobsCell({ ...v, copyJobs: 371 }), '371', 'one job per point: just the count');
  t.equal(copyJobsCell({ destination: 'v', copyJobs: 5, destinationPoints: 5 }), '5', 'an older daemon');
  t.equal(copyJobsCell({ ...v, copyJobs: 1_200, sourcePoints: 1_150 }), '1,200 for 1,150 points (50 retried)');
});

t.test('a dry run that is done says nothing is copied, and what its queued points wait for', async (t) => {
  const dry = status({ state: 'done', phase: 'done', runMode: 'dry_run' });
  t.equal(stateText(dry), 'done (a dry run: nothing is copied)');
  t.match(itemsText(dry), /40 queued for a copying run,/);
  t.equal(stateText(status({ state: 'done', phase: 'done', runMode: 'copy' })), 'done');
  t.match(itemsText(status({ runMode: 'copy' })), /40 queued, /);
  t.equal(
    stateText(status({ state: 'paused', pauseReason: 'operator', runMode: 'no_copy' })),
    'paused (operator) (a --no-copy run: nothing is copied)',
  );
  t.equal(stateText(status({ state: 'done', phase: 'done' })), 'done', 'a daemon that predates the field');
});
