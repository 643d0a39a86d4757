// A minimal QMP client (QEMU Machine Protocol over the blade's Unix socket): greeting, capabilities
// negotiation, one command, close. Used for link cuts (set_link) and resets (system_reset).
import net from 'node:net';

export interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

export function qmp(socketPath: string, execute: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${execute} on ${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | null, value?: unknown): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.on('error', (e) => done(new Error(`QMP ${execute} on ${socketPath}: ${e.message}`)));
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as QmpReply & { QMP?: unknown; event?: string };
        if (msg.event) continue;
        if (step === 0 && msg.QMP) {
          step = 1;
          sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        } else if (step === 1) {
          if (msg.error) return done(new Error(`QMP qmp_capabilities: ${msg.error.desc}`));
          step = 2;
          sock.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }) + '\n');
        } else if (step === 2) {
          if (msg.error) return done(new Error(`QMP ${execute}: ${msg.error.class}: ${msg.error.desc}`));
          return done(null, msg.return);
        }
      }
    });
  });
}
