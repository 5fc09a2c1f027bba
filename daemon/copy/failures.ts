// Why a copy failed, as a class the operator can act on: `rpctl status` shows
// the top reasons, `rpctl retry --reason X` requeues one class once its cause
// is fixed. Transient classes are retried with backoff up to copy attempts;
// permanent ones are recorded with AWS's message and never retried by
// themselves. AWS documents no closed list of copy-job status messages
// (aws-backup.md §1.3: MessageCategory and StatusMessage are free text), so
// the patterns below are deliberately broad and anything unrecognised is
// treated as transient: a retry costs one job, a wrong "permanent" would strand
// a point until the operator looks.

import type { AwsFailure } from '../aws/errors.js';

export const FAILURE_REASONS = {
  access_denied: 'AWS Backup was denied access (destination vault policy, copy role, or organisation settings)',
  key_not_accessible: 'the encryption key cannot be used by the destination account (KMS key policy or grant)',
  organization: 'source and destination must be in the same AWS Organization with cross-account backup enabled',
  vault_lock: 'the copy’s retention violates the destination vault lock',
  invalid_request: 'AWS refused the request as invalid',
  source_point_missing: 'the source recovery point no longer exists',
  source_point_not_copyable:
    'the source recovery point cannot be copied any more (it expired, is being deleted, moved to cold storage, or is a continuous backup)',
  destination_vault_unavailable: 'the destination vault is missing or could not be created (see rpctl plan/compliance)',
  partial: 'the composite copy completed only partly',
  verification_failed: 'the copy job completed but the copy is not in the destination vault as planned',
  canary_failed: 'the canary copy of this point’s vault, resource type and key failed; fix that cause first',
  internal_error: 'AWS reported an internal or temporary error',
  unknown: 'the copy failed for a reason rpcopy does not recognise',
} as const;

export type FailureReason = keyof typeof FAILURE_REASONS;

export interface FailureVerdict {
  reason: FailureReason;
  kind: 'transient' | 'permanent';
}

const permanent = (reason: FailureReason): FailureVerdict => ({ reason, kind: 'permanent' });
const transient = (reason: FailureReason): FailureVerdict => ({ reason, kind: 'transient' });

/** A copy job that ended FAILED or PARTIAL. */
export function classifyJobFailure(state: string, message: string | null, category: string | null): FailureVerdict {
  const text = message ?? '';
  if (state === 'PARTIAL') return permanent('partial');
  // The point's own state: it cannot be copied any more, and retrying the same point would fail the same way.
  if (/cold storage|expired|being deleted|deleting|continuous backup/i.test(text)) {
    return permanent('source_point_not_copyable');
  }
  if (category === 'ACCESS_DENIED' || /access ?denied|not authori[sz]ed|AccessDenied/i.test(text)) {
    return permanent('access_denied');
  }
  if (/organi[sz]ation|cross-account backup/i.test(text)) return permanent('organization');
  if (
    /\bkey\b|\bCMK\b|\bKMS\b/i.test(text) &&
    /not accessible|cannot be shared|not shared|access|grant|disabled/i.test(text)
  ) {
    return permanent('key_not_accessible');
  }
  if (/retention|vault lock|MinRetention|MaxRetention/i.test(text)) return permanent('vault_lock');
  if (category === 'INVALID_PARAMETERS' || /invalid/i.test(text)) return permanent('invalid_request');
  if (/internal|temporar|timeout|timed out|throttl|unavailable|try again|capacity/i.test(text)) {
    return transient('internal_error');
  }
  return transient('unknown');
}

/** StartCopyJob refused definitively (not throttling, quota or an unknown outcome: the caller handles those). */
export function classifyStartRejection(failure: AwsFailure): FailureVerdict {
  if (failure.kind === 'not_found') {
    return permanent(/recovery point/i.test(failure.message) ? 'source_point_missing' : 'invalid_request');
  }
  if (failure.kind === 'denied') return permanent('access_denied');
  // The point's own state, not the request's shape: its combination's other points are unaffected.
  if (/cold storage|\bcold\b|expired|deleting|continuous|not (in )?(a )?completed/i.test(failure.message)) {
    return permanent('source_point_not_copyable');
  }
  if (failure.kind === 'transient') return transient('internal_error');
  // A modeled refusal (InvalidRequestException, InvalidParameterValueException, ...): the same request will be
  // refused again, whatever its wording says.
  const verdict = classifyJobFailure('FAILED', `${failure.name}: ${failure.message}`, null);
  return verdict.kind === 'permanent' ? verdict : permanent('invalid_request');
}
