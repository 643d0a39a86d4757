// A folder in which a rendered apply script runs for real with fake `ip`, `modprobe` and `udhcpc`
// that only log their arguments, and a fake /proc/sys: every side effect stays inside it.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ApplySandbox {
  dir: string;
  /** Where the fakes append one line per call: "ip link add ...". */
  log: string;
  procSys: string;
  /** Where the script goes. */
  file: string;
  /** The environment the script runs with (tools, /proc/sys, resolv.conf and hooks inside `dir`). */
  env: Record<string, string>;
  /** The calls logged so far (empty when none). */
  calls(): string[];
}

/** A fresh sandbox below `parent`; IPv6 accept_ra/autoconf start at 1 on 'default' and eth0. */
export function applySandbox(parent: string, name: string): ApplySandbox {
  const dir = mkdtempSync(join(parent, `${name}-`));
  const log = join(dir, 'calls.log');
  const fake = join(dir, 'fake');
  writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$(basename "$0") $*" >> '${log}'\n`);
  chmodSync(fake, 0o755);
  for (const tool of ['ip', 'modprobe', 'udhcpc']) symlinkSync(fake, join(dir, tool));
  const procSys = join(dir, 'proc/sys');
  mkdirSync(join(procSys, 'net/ipv4/conf/all'), { recursive: true });
  for (const dev of ['default', 'eth0']) {
    mkdirSync(join(procSys, `net/ipv6/conf/${dev}`), { recursive: true });
    for (const k of ['accept_ra', 'autoconf']) writeFileSync(join(procSys, `net/ipv6/conf/${dev}/${k}`), '1');
  }
  return {
    dir,
    log,
    procSys,
    file: join(dir, 'apply.sh'),
    env: {
      PATH: `${dir}:/usr/bin:/bin`,
      TABULA_IP: join(dir, 'ip'),
      TABULA_MODPROBE: join(dir, 'modprobe'),
      TABULA_PROC_SYS: procSys,
      TABULA_RESOLV_CONF: join(dir, 'resolv.conf'),
      TABULA_HOOKS: join(dir, 'hooks'),
    },
    calls(): string[] {
      try {
        return readFileSync(log, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}
