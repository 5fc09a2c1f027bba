// Destination vault names. Most source vaults are recreated under their own
// name; two kinds cannot be: the Default vault (not a valid cross-account
// destination) and service vaults whose names break the vault-name rule
// (e.g. aws/efs/automatic-backup-vault). For those rpcopy proposes a name and
// copies only once the operator has confirmed a mapping in destination.vault_names.

const VAULT_NAME = /^[a-zA-Z0-9\-_]{2,50}$/;

/** The destination vault for a source vault, or undefined while it needs a confirmed mapping. */
export function destinationVaultName(source: string, mapping: Readonly<Record<string, string>>): string | undefined {
  const mapped = mapping[source];
  if (mapped !== undefined) return mapped;
  if (source === 'Default' || !VAULT_NAME.test(source)) return undefined;
  return source;
}

/** A valid name to suggest for a vault that cannot be recreated as is. */
export function proposeVaultName(source: string): string {
  const cleaned = source
    .replace(/[^a-zA-Z0-9\-_]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 44);
  const base = cleaned.length >= 2 ? cleaned : `vault-${cleaned}`;
  return source === 'Default' ? 'Default-copy' : base;
}
