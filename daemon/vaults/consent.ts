// Which destination vaults rpcopy may not make usable without the operator's
// consent: one rule, used by the plan (to skip their points with a named
// reason), the vaults phase (to create nothing) and preflight (to say so), so
// that all three give the same verdict wherever they run.
//
// The rule: a logically air-gapped source vault whose destination does not
// exist yet needs vaults.confirm_compliance_lock, since such a vault is
// compliance-locked from its creation (irreversible). A compliance-locked
// ordinary vault needs no consent to be usable: until the operator confirms,
// the destination gets a governance lock with the same limits (reversible, and
// the same minimum and maximum for every copy), reported as drift; the vaults
// phase strengthens it to compliance once confirmed (vaults/lock.ts).

export const AIR_GAPPED = 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';

export interface ConsentNeeded {
  /** What is waiting for the operator. */
  detail: string;
  /** How to give (or withhold) consent. */
  fix: string;
}

export const CONSENT_FIX =
  'to copy them, check the lock rpctl compliance shows, set vaults.confirm_compliance_lock = true and restart ' +
  'rpcopyd: the vault is created and its points are copied (no rpctl retry); to leave them, remove the vault ' +
  'from source.vaults';

/**
 * Undefined when the destination vault can be made usable (or is already); else why it needs the operator.
 * `destinationExists`: the destination vault was found (by the vaults phase, or by a describe just now).
 */
export function consentNeeded(
  source: { name: string; vaultType: string },
  destinationExists: boolean,
  confirmed: boolean,
): ConsentNeeded | undefined {
  if (confirmed || destinationExists || source.vaultType !== AIR_GAPPED) return undefined;
  return {
    detail:
      `the source vault ${source.name} is logically air-gapped: its destination vault would be compliance-locked ` +
      'from its creation (irreversible), so rpcopy creates it only with the operator’s consent ' +
      '(vaults.confirm_compliance_lock); its points are skipped as vault_needs_consent until then',
    fix: CONSENT_FIX,
  };
}
