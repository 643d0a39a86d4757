// The boot artefacts are served from memory (ArtefactCache): one read per file version, a new build
// on disk served on the next request, a missing file answered 404, and a download the client drops
// recorded as aborted with the bytes sent so far.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArtefactCache } from '../../../src/boot/http/artefacts.js';
import { type BootHarness, errorCode, hyp, mac, send, startBootHarness } from './helpers.js';

describe('ArtefactCache', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tabula-artefacts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file once per version and shares the one read of concurrent first requests', async () => {
    const file = join(dir, 'a');
    const bytes = randomBytes(300_000);
    writeFileSync(file, bytes);
    const cache = new ArtefactCache();
    const [one, two] = await Promise.all([cache.get(file), cache.get(file)]);
    expect(one?.equals(bytes)).toBe(true);
    expect(two).toBe(one); // the same Buffer: one read
    expect(await cache.get(file)).toBe(one); // unchanged on disk: no new read
  });

  it('serves a file replaced on disk (a new build moved into place) from its next request', async () => {
    const file = join(dir, 'b');
    writeFileSync(file, Buffer.from('old build'));
    const cache = new ArtefactCache();
    expect((await cache.get(file))?.toString()).toBe('old build');
    writeFileSync(join(dir, 'b.new'), Buffer.from('the new, longer build'));
    renameSync(join(dir, 'b.new'), file);
    expect((await cache.get(file))?.toString()).toBe('the new, longer build');
  });

  it('answers null for a missing file and for a directory', async () => {
    const cache = new ArtefactCache();
    expect(await cache.get(join(dir, 'missing'))).toBeNull();
    mkdirSync(join(dir, 'sub'));
    expect(await cache.get(join(dir, 'sub'))).toBeNull();
    const file = join(dir, 'gone');
    writeFileSync(file, 'x');
    expect((await cache.get(file))?.toString()).toBe('x');
    rmSync(file);
    expect(await cache.get(file)).toBeNull();
  });
});

describe('boot artefacts over HTTP', () => {
  let h: BootHarness;
  beforeAll(async () => {
    h = await startBootHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    // Each test leaves the harness's own files in place.
    writeFileSync(join(h.bootDir, 'vmlinuz'), h.kernel);
    writeFileSync(join(h.bootDir, 'initrd.img'), h.initrd);
  });

  it('serves a rebuilt initrd on the next request and 404 BOOT_ARTIFACT_MISSING once it is gone', async () => {
    const m = hyp(mac(0x31));
    expect((await send(h, 'GET', `/boot/${m}/initrd`)).body.equals(h.initrd)).toBe(true);
    const rebuilt = randomBytes(h.initrd.length + 77);
    writeFileSync(join(h.bootDir, 'initrd.new'), rebuilt);
    renameSync(join(h.bootDir, 'initrd.new'), join(h.bootDir, 'initrd.img'));
    const again = await send(h, 'GET', `/boot/${m}/initrd`);
    expect(again.headers.get('content-length')).toBe(String(rebuilt.length));
    expect(again.body.equals(rebuilt)).toBe(true);
    rmSync(join(h.bootDir, 'initrd.img'));
    const missing = await send(h, 'GET', `/boot/${m}/initrd`);
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('BOOT_ARTIFACT_MISSING');
  });

  it('records a kernel download the client drops as aborted, with fewer bytes than the file', async () => {
    const big = randomBytes(64 << 20); // more than the socket buffers hold, so the transfer is cut short
    writeFileSync(join(h.bootDir, 'vmlinuz'), big);
    const m = mac(0x32);
    // The blade's boot (the iPXE script) first, so that the download has a boot to land in.
    expect((await send(h, 'GET', `/boot/${hyp(m)}/ipxe`)).status).toBe(200);
    const url = new URL(`${h.base}/boot/${hyp(m)}/kernel`);
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(url, (res) => {
        let n = 0;
        res.on('data', (chunk: Buffer) => {
          n += chunk.length;
          if (n >= 1 << 20) {
            req.destroy();
            resolve(n);
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.on('close', () => reject(new Error('the download ended before 1 MiB arrived')));
      req.end();
    });
    expect(received).toBeGreaterThanOrEqual(1 << 20);
    const hostId = h.opened.engine.listHosts().find((x) => x.bootMac === m)?.id as number;
    let kernel: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !kernel; i++) {
      kernel = h.services.store.listBoots(hostId, 1)[0]?.events.find((e) => e.stage === 'kernel')?.data;
      if (!kernel) await new Promise((r) => setTimeout(r, 100));
    }
    expect(kernel).toMatchObject({ aborted: true, status: 200, size: big.length });
    expect(kernel?.bytes).toBeGreaterThanOrEqual(received - 1024);
    expect(kernel?.bytes).toBeLessThan(big.length);
  });
});
