// Boot scripts generated per client over TFTP, for firmware (or an iPXE build) that fetches its
// script by TFTP only. `boot.ipxe` is the requesting machine's own per-host script when its MAC is
// known (its DHCP lease, else the neighbour table): a boot starts and its token is issued, exactly as
// over HTTP. An unknown address gets the generic script, which chains over HTTP by MAC.
import type { FileProvider, TftpClient, TftpFile } from './files.js';

export const TFTP_BOOT_SCRIPT = 'boot.ipxe';

/** What the boot chain offers (BootServices from src/boot/http). */
export interface BootScriptSource {
  genericScript(): string;
  hostScript(mac: string, via: 'http' | 'tftp'): string;
}

export interface BootScriptProviderOptions {
  scripts: BootScriptSource;
  /** Client IPv4 -> normalized MAC, or null when unknown. */
  macFor: (ip: string) => string | null;
  /** Told when rendering failed (the client then gets the root directory's file, if any). */
  onError?: (err: unknown, client: TftpClient) => void;
}

export function bufferFile(data: Buffer): TftpFile {
  return {
    size: data.length,
    read: (offset, length) => Promise.resolve(data.subarray(offset, offset + length)),
  };
}

export function bootScriptProvider(opts: BootScriptProviderOptions): FileProvider {
  return {
    open(name: string, client: TftpClient): Promise<TftpFile | null> {
      if (name !== TFTP_BOOT_SCRIPT) return Promise.resolve(null);
      try {
        const mac = opts.macFor(client.address);
        const text = mac ? opts.scripts.hostScript(mac, 'tftp') : opts.scripts.genericScript();
        return Promise.resolve(bufferFile(Buffer.from(text, 'utf8')));
      } catch (err) {
        opts.onError?.(err, client);
        return Promise.resolve(null);
      }
    },
  };
}
