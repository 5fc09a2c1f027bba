// Screenshots of rpcopy's HTML pages in headless Chromium, and reading them back: what the visual checks count.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

/** The Chromium command on this machine; undefined when none is installed (the visual checks then skip). */
export function chromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    if (spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0) return name;
  }
  return undefined;
}

export const NO_CHROMIUM =
  'Chromium is not installed (Debian: apt-get install chromium); CI installs it for this check';

/**
 * Renders `page` (an HTML file) at the window size into `shot` (a PNG), offline and with a throw-away profile in
 * `dir`. Returns Chromium's stderr when no screenshot was written, to say why.
 */
export function screenshot(
  browser: string,
  page: string,
  shot: string,
  size: { width: number; height: number },
  dir: string,
): string | undefined {
  const run = spawnSync(
    browser,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`,
      `--screenshot=${shot}`,
      `--window-size=${size.width},${size.height}`,
      `file://${page}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return existsSync(shot) ? undefined : run.stderr.slice(-2000);
}

/** A PNG's size and its pixels (8-bit RGB or RGBA, non-interlaced: what Chromium writes), unfiltered. */
export function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  if (!png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[12] !== 0) throw new Error('unexpected bit depth or interlace');
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      if (channels === 0) throw new Error(`unexpected colour type ${body[9]}`);
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!;
      const left = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const upLeft = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels]! : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Pixels of exactly this colour in the PNG. */
export function pixelsOf(png: Buffer, rgb: readonly [number, number, number]): number {
  const { channels, pixels } = decodePng(png);
  let n = 0;
  for (let i = 0; i < pixels.length; i += channels) {
    if (pixels[i] === rgb[0] && pixels[i + 1] === rgb[1] && pixels[i + 2] === rgb[2]) n += 1;
  }
  return n;
}
