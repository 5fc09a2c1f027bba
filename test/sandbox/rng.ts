/**
 * Deterministic, allocation-free hashing and id encoding.
 *
 * The generator never stores a million recovery points: every attribute of
 * point i in vault v is a pure function of (seed, v, i). These helpers are the
 * primitives for that. Ids embed an invertible 32-bit encoding of (vault, index)
 * so an ARN received on the wire can be mapped back to (v, i) in O(1) and then
 * verified by regenerating the point and comparing the full ARN.
 */

/** murmur3 fmix32: a bijection on 32-bit integers with good avalanche. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Inverse of fmix32 (multiplicative inverses of the two constants mod 2^32). */
export function unfmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7ed1b41d);
  h ^= (h >>> 13) ^ (h >>> 26);
  h = Math.imul(h, 0xa5cb9243);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of up to five integers into 32 bits. */
export function hash32(a: number, b = 0, c = 0, d = 0, e = 0): number {
  let h = fmix32(a ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b));
  h = fmix32(h ^ Math.imul(c + 0x165667b1, 0xc2b2ae35));
  h = fmix32(h ^ Math.imul(d + 0x27d4eb2f, 0x9e3779b1));
  h = fmix32(h ^ Math.imul(e + 0x61c88647, 0x85ebca77));
  return h;
}

/** Uniform float in [0, 1) from the same inputs as hash32. */
export function unit(a: number, b = 0, c = 0, d = 0, e = 0): number {
  return hash32(a, b, c, d, e) / 4294967296;
}

/** Hash a string (seed names, salts) to 32 bits (FNV-1a then fmix). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** `count` lowercase hex characters derived from the inputs. */
export function hexChars(count: number, a: number, b = 0, c = 0, d = 0): string {
  let out = '';
  let i = 0;
  while (out.length < count) out += hex8(hash32(a, b, c, d, i++));
  return out.slice(0, count);
}

/** A UUID-shaped string whose first 8 hex chars are `head` (an encoded id). */
export function uuidWithHead(head: string, a: number, b = 0, c = 0): string {
  const t = hexChars(24, a, b, c, 0x5eed);
  return `${head}-${t.slice(0, 4)}-4${t.slice(5, 8)}-a${t.slice(9, 12)}-${t.slice(12, 24)}`;
}

/**
 * Pack (vault index < 256, local index < 2^24) and scramble it with a
 * per-kind mask so ids of consecutive points do not look consecutive.
 */
export function encodeId(mask: number, vault: number, index: number): string {
  return hex8(fmix32(((vault << 24) | index) ^ mask));
}

export function decodeId(mask: number, hex: string): { vault: number; index: number } | undefined {
  if (!/^[0-9a-f]{8}$/.test(hex)) return undefined;
  const packed = (unfmix32(Number.parseInt(hex, 16)) ^ mask) >>> 0;
  return { vault: packed >>> 24, index: packed & 0xffffff };
}

/** Small seeded PRNG (mulberry32) for sequences such as fault injection. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
