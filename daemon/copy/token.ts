// The IdempotencyToken of a StartCopyJob: deterministic per (source point,
// destination vault, attempt), so a resend after a crash, a timeout or a lost
// response returns the same copy job instead of creating a second one
// (architecture.md, layer 2). A new attempt (after a job that definitely
// failed) gets a new token, so AWS does not hand back the failed job.

import { createHash } from 'node:crypto';

export function idempotencyToken(sourcePointArn: string, destinationVaultArn: string, attempt: number): string {
  const hex = createHash('sha256')
    .update(`rpcopy/copy/v1\n${sourcePointArn}\n${destinationVaultArn}\n${attempt}`)
    .digest('hex');
  // UUID-shaped, like the tokens the SDK itself generates.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
