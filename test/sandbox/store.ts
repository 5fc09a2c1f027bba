/**
 * Recovery points of every vault, generated or materialised, behind one
 * interface. A generated vault's points are positions 0..count-1 (derived on
 * demand by the Dataset); points added later (admin API, copies landing in
 * the vault) follow at count..count+extra-1. Positions never move, so a
 * pagination token that holds a position stays valid while points are added.
 * Per-point changes to generated points live in a small overlay map.
 */
import type { ResourceInfo } from './generator.js';
import type { RecoveryPoint, ResourceType, Vault } from './model.js';
import type { World } from './world.js';

export interface PointFilters {
  resourceArn?: string;
  resourceType?: string;
  backupPlanId?: string;
  createdBefore?: number;
  createdAfter?: number;
  parentRecoveryPointArn?: string;
}

export interface PointPage {
  items: RecoveryPoint[];
  /** Position to resume from, or undefined when the listing is complete. */
  next?: number;
}

/**
 * Most points a single list call examines before returning a short page with
 * a token. AWS also returns short (even empty) pages with a NextToken; this
 * bounds the work a sparse filter can cost one request.
 */
const SCAN_BUDGET = 100_000;

export class PointStore {
  /** Changed fields of generated points, by ARN. */
  private readonly overlay = new Map<string, Partial<RecoveryPoint>>();
  /** Materialised points by ARN, across all vaults. */
  private readonly byArn = new Map<string, RecoveryPoint>();
  /** Points deleted through the admin API: ARN → when. They keep their positions but are no longer served. */
  private readonly deleted = new Map<string, number>();
  private readonly deletedPerVault = new Map<string, number>();
  /** Whether a point has gone by itself (its lifecycle deleted it); set by the sandbox from its knobs. */
  expired: (p: RecoveryPoint) => boolean = () => false;

  constructor(private readonly world: World) {}

  generatedCount(vault: Vault): number {
    return vault.generatedIndex === undefined ? 0 : (this.world.dataset.counts[vault.generatedIndex] ?? 0);
  }

  count(vault: Vault): number {
    return this.generatedCount(vault) + vault.points.length - (this.deletedPerVault.get(vault.arn) ?? 0);
  }

  /** Whether the point no longer exists (deleted, or removed at its DeleteAt). */
  isGone(p: RecoveryPoint): boolean {
    return this.deleted.has(p.arn) || this.expired(p);
  }

  /** When the admin API deleted the point, if it did. */
  deletedAt(arn: string): number | undefined {
    return this.deleted.get(arn);
  }

  /** Delete a point: listings skip it, Describe and StartCopyJob no longer find it. */
  remove(vault: Vault, arn: string, at: number): boolean {
    const p = this.get(vault, arn);
    if (!p) return false;
    this.deleted.set(arn, at);
    this.deletedPerVault.set(vault.arn, (this.deletedPerVault.get(vault.arn) ?? 0) + 1);
    return true;
  }

  add(vault: Vault, point: RecoveryPoint): void {
    vault.points.push(point);
    this.byArn.set(point.arn, point);
  }

  /** Change fields of a point (generated or materialised). */
  patch(vault: Vault, arn: string, changes: Partial<RecoveryPoint>): RecoveryPoint | undefined {
    const p = this.get(vault, arn);
    if (!p) return undefined;
    const mat = this.byArn.get(arn);
    if (mat) Object.assign(mat, changes);
    else this.overlay.set(arn, { ...this.overlay.get(arn), ...changes });
    return this.get(vault, arn);
  }

  get(vault: Vault, arn: string): RecoveryPoint | undefined {
    const p = this.getEvenIfGone(vault, arn);
    return p && !this.isGone(p) ? p : undefined;
  }

  /** The point as it was last, also when it no longer exists (for the judge's view). */
  getEvenIfGone(vault: Vault, arn: string): RecoveryPoint | undefined {
    const mat = this.byArn.get(arn);
    if (mat) return mat.vaultName === vault.name && mat.account === vault.account ? mat : undefined;
    if (vault.generatedIndex === undefined) return undefined;
    const found = this.world.dataset.findPoint(arn);
    if (!found || found.vault !== vault.generatedIndex) return undefined;
    return this.withOverlay(found.point);
  }

  /** Locate a point of this account by ARN in any vault. */
  find(accountId: string, arn: string): { vault: Vault; point: RecoveryPoint } | undefined {
    const found = this.findEvenIfGone(accountId, arn);
    return found && !this.isGone(found.point) ? found : undefined;
  }

  findEvenIfGone(accountId: string, arn: string): { vault: Vault; point: RecoveryPoint } | undefined {
    const account = this.world.account(accountId);
    if (!account) return undefined;
    const mat = this.byArn.get(arn);
    if (mat && mat.account === accountId) {
      const vault = account.vaults.get(mat.vaultName);
      return vault ? { vault, point: mat } : undefined;
    }
    if (accountId !== this.world.source.id) return undefined;
    const found = this.world.dataset.findPoint(arn);
    if (!found) return undefined;
    for (const vault of account.vaults.values()) {
      if (vault.generatedIndex === found.vault) return { vault, point: this.withOverlay(found.point) };
    }
    return undefined;
  }

  /** The generated resource behind a point, when the point is generated. */
  resourceOf(vault: Vault, point: RecoveryPoint): ResourceInfo | undefined {
    if (vault.generatedIndex === undefined) return undefined;
    return this.world.dataset.findResource(vault.generatedIndex, point.resourceArn);
  }

  /**
   * A page of the vault's points from position `start`. Points that no longer exist are skipped, and so are
   * copies that landed after `viewAt` (the listing lag).
   */
  list(vault: Vault, filters: PointFilters, start: number, max: number, viewAt = Number.POSITIVE_INFINITY): PointPage {
    const items: RecoveryPoint[] = [];
    const gen = this.generatedCount(vault);
    const total = gen + vault.points.length;
    const v = vault.generatedIndex;
    const ds = this.world.dataset;
    let pos = start;
    let scanned = 0;
    const match = (p: RecoveryPoint) =>
      matches(p, filters) && !this.isGone(p) && !(p.landedAt !== undefined && p.landedAt > viewAt);

    if (v !== undefined && pos < gen) {
      if (filters.resourceArn !== undefined) {
        // Only that resource's chain can match: jump straight to it.
        const res = ds.findResource(v, filters.resourceArn);
        if (res) {
          const from = Math.max(pos, res.chainStart);
          const to = res.chainStart + res.chainLength;
          for (let i = from; i < to && items.length < max; i++) {
            const p = this.withOverlay(ds.pointOf(res, i));
            if (match(p)) items.push(p);
            pos = i + 1;
          }
          if (items.length >= max && pos < to) return { items, next: pos };
        }
        pos = gen;
      } else {
        let r = ds.resourceIndexOf(v, pos);
        while (pos < gen && items.length < max && scanned < SCAN_BUDGET) {
          const res = ds.resource(v, r);
          const end = res.chainStart + res.chainLength;
          if (filters.resourceType !== undefined && res.type !== filters.resourceType) {
            scanned += 1;
            pos = end;
            r++;
            continue;
          }
          for (; pos < end && items.length < max; pos++, scanned++) {
            const p = this.withOverlay(ds.pointOf(res, pos));
            if (match(p)) items.push(p);
          }
          if (pos >= end) r++;
        }
        if (pos < gen) return { items, next: pos };
      }
    }
    for (; pos < total && items.length < max; pos++) {
      const p = vault.points[pos - gen] as RecoveryPoint;
      if (match(p)) items.push(p);
    }
    return { items, next: pos < total ? pos : undefined };
  }

  private withOverlay(p: RecoveryPoint): RecoveryPoint {
    const o = this.overlay.get(p.arn);
    return o ? { ...p, ...o } : p;
  }
}

function matches(p: RecoveryPoint, f: PointFilters): boolean {
  if (f.resourceArn !== undefined && p.resourceArn !== f.resourceArn) return false;
  if (f.resourceType !== undefined && p.resourceType !== (f.resourceType as ResourceType)) return false;
  if (f.backupPlanId !== undefined && p.createdBy?.BackupPlanId !== f.backupPlanId) return false;
  if (f.createdBefore !== undefined && !(p.creationDate < f.createdBefore)) return false;
  if (f.createdAfter !== undefined && !(p.creationDate > f.createdAfter)) return false;
  // No generated point is part of a composite, so a parent filter matches nothing.
  if (f.parentRecoveryPointArn !== undefined) return false;
  return true;
}
