// The DHCPv4 protocol state machine as a pure class: a decoded request and a clock in, a list of
// packets to send (with their destination) and log entries out. No sockets, no timers.
//
// RFC 2131 §4.3 (server behaviour), §4.1 (reply addressing), Table 3 (reply fields and options);
// RFC 3046 (echo option 82, as the last option); RFC 6842 (echo option 61);
// PXE 2.1 proxyDHCP (port 67 offer without an address, boot server ACK on port 4011).
import { BROADCAST_IP, ZERO_IP, inNetwork, ipToUint, prefixMask, uintToIp } from './ip.js';
import {
  MessageType,
  Opt,
  bootFileOption,
  broadcastOption,
  dnsOption,
  domainNameOption,
  getClientId,
  getMaxMessageSize,
  getMessageType,
  getParameterRequestList,
  getRequestedIp,
  getServerId,
  hostnameOption,
  ipxeNoPxeDhcpOption,
  leaseTimeOption,
  messageOption,
  messageTypeName,
  rebindingTimeOption,
  renewalTimeOption,
  routerOption,
  serverIdOption,
  subnetMaskOption,
  tftpServerOption,
  vendorClassOption,
} from './options.js';
import type { MessageTypeCode, OptionEntry } from './options.js';
import { BOOTREPLY, BOOTREQUEST, BROADCAST_FLAG, DHCP_HEADER_LENGTH, DHCP_MIN_MAX_MESSAGE, encodedOptionsLength } from './packet.js';
import type { DhcpPacket } from './packet.js';
import { chooseBootFile, classifyClient } from './pxe.js';
import type { BootChoice, BootClient, BootConfig, BootTargets } from './pxe.js';
import { InMemoryLeaseStore } from './leases.js';
import type { LeaseStore } from './leases.js';

export type { Lease, LeaseState, LeaseStore } from './leases.js';
export { InMemoryLeaseStore } from './leases.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const PXE_BOOT_SERVER_PORT = 4011;

export type DhcpMode = 'full' | 'proxy';

export interface SubnetConfig {
  /** Network address, e.g. 10.77.0.0 */
  network: string;
  prefix: number;
  /** Inclusive dynamic range inside the network. */
  range: readonly [string, string];
  router?: string;
  dns?: readonly string[];
  domain?: string;
  leaseSeconds: number;
}

export interface DhcpServerConfig {
  mode: DhcpMode;
  /** Our address on the provisioning network: option 54 and the address clients and relays reach. */
  serverIp: string;
  /** TFTP server (siaddr, option 66). Defaults to serverIp. */
  nextServer?: string;
  /** Full mode: at least one. The subnet containing serverIp serves directly attached clients. */
  subnets: readonly SubnetConfig[];
  bootConfig: BootConfig;
  /** How long an OFFER holds its address. Default 60. */
  offerSeconds?: number;
  /** How long a DECLINEd address stays out of use. Default 600. */
  declineSeconds?: number;
  /**
   * Default true: this server owns its subnets, so it NAKs requests it cannot honour and ACKs a
   * free address requested by a client it has no record of (e.g. after a restart). When false it
   * stays silent for unknown clients, as RFC 2131 §4.3.2 asks of non-authoritative servers.
   */
  authoritative?: boolean;
}

export interface Reservation {
  ip: string;
  hostname?: string;
  /** Per-host boot file or URL overrides. */
  boot?: Partial<BootTargets>;
}

export interface ReservationSource {
  lookup(mac: string): Reservation | undefined;
  /** MAC an address is reserved for. Lets the pool skip reserved addresses inside the dynamic range. */
  macFor?(ip: string): string | undefined;
  /** Boot file overrides of the host (and its cluster) booting from `mac`, reserved address or not. */
  bootFor?(mac: string): Partial<BootTargets> | undefined;
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface RequestMeta {
  receivedOn: 'port67' | 'port4011';
  /** Epoch milliseconds. */
  now: number;
  /** UDP source of the request. Port 4011 replies go back to it (EDK2 listens on 4011, iPXE on 68). */
  from?: Endpoint;
}

export type DhcpLogLevel = 'debug' | 'info' | 'warn';

export interface DhcpLogEntry {
  level: DhcpLogLevel;
  /** offer | ack | nak | inform | release | decline | drop | no-offer | reservation-conflict */
  event: string;
  reason?: string;
  /** DHCPDISCOVER, DHCPREQUEST, ... */
  message?: string;
  mac?: string;
  xid?: number;
  ip?: string;
  client?: BootClient;
  boot?: BootChoice | null;
  to?: Endpoint;
  /** Free text, e.g. the subnet that ran dry. */
  detail?: string;
}

export type DhcpAction = { send: DhcpPacket; to: Endpoint } | { log: DhcpLogEntry };

export class DhcpConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid DHCP configuration: ${problems.join('; ')}`);
    this.name = 'DhcpConfigError';
    this.problems = problems;
  }
}

interface Subnet {
  cfg: SubnetConfig;
  network: number;
  prefix: number;
  start: number;
  end: number;
  range: readonly [string, string];
  broadcast: string;
  /** Addresses never handed out from the pool: ours, the router. */
  excluded: Set<number>;
}

const DEFAULT_OFFER_SECONDS = 60;
const DEFAULT_DECLINE_SECONDS = 600;
/** Options never dropped when a reply must shrink to the client's maximum message size. */
const ESSENTIAL_OPTIONS: ReadonlySet<number> = new Set([
  Opt.MESSAGE_TYPE,
  Opt.SERVER_ID,
  Opt.LEASE_TIME,
  Opt.SUBNET_MASK,
  Opt.ROUTER,
  Opt.CLIENT_ID,
  Opt.RELAY_AGENT_INFO,
  Opt.VENDOR_CLASS,
  Opt.TFTP_SERVER,
  Opt.BOOTFILE,
  Opt.IPXE_ENCAP,
]);
/** IP (20) + UDP (8) headers: option 57 and the 576 minimum count the whole datagram. */
const IP_UDP_HEADERS = 28;

function validateConfig(c: DhcpServerConfig): { subnets: Subnet[]; problems: string[] } {
  const problems: string[] = [];
  const subnets: Subnet[] = [];
  if (c.mode !== 'full' && c.mode !== 'proxy') problems.push(`mode must be 'full' or 'proxy'`);
  const server = ipToUint(c.serverIp);
  if (server === null) problems.push(`serverIp '${c.serverIp}' is not an IPv4 address`);
  if (c.nextServer !== undefined && ipToUint(c.nextServer) === null) problems.push(`nextServer '${c.nextServer}' is not an IPv4 address`);
  for (const [k, v] of [['offerSeconds', c.offerSeconds], ['declineSeconds', c.declineSeconds]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) problems.push(`${k} must be a positive integer`);
  }
  if (c.mode === 'full' && c.subnets.length === 0) problems.push('full mode needs at least one subnet');
  c.subnets.forEach((s, i) => {
    const where = `subnets[${i}] (${s.network}/${s.prefix})`;
    const net = ipToUint(s.network);
    const start = ipToUint(s.range[0]);
    const end = ipToUint(s.range[1]);
    if (net === null) problems.push(`${where}: network is not an IPv4 address`);
    if (!Number.isInteger(s.prefix) || s.prefix < 1 || s.prefix > 30) problems.push(`${where}: prefix must be 1..30`);
    if (start === null || end === null) problems.push(`${where}: range ${s.range[0]}-${s.range[1]} is not two IPv4 addresses`);
    if (!Number.isInteger(s.leaseSeconds) || s.leaseSeconds < 60 || s.leaseSeconds > 0xfffffffe) problems.push(`${where}: leaseSeconds must be an integer >= 60`);
    if (s.router !== undefined && ipToUint(s.router) === null) problems.push(`${where}: router '${s.router}' is not an IPv4 address`);
    for (const d of s.dns ?? []) if (ipToUint(d) === null) problems.push(`${where}: dns '${d}' is not an IPv4 address`);
    if (net === null || start === null || end === null || !(s.prefix >= 1 && s.prefix <= 30)) return;
    const mask = prefixMask(s.prefix);
    if (((net & mask) >>> 0) !== net) problems.push(`${where}: network has host bits set`);
    const bcast = (net | ~mask) >>> 0;
    if (start > end) problems.push(`${where}: range starts after it ends`);
    if (!inNetwork(start, net, s.prefix) || !inNetwork(end, net, s.prefix)) problems.push(`${where}: range lies outside the network`);
    else if (start === net || end === bcast) problems.push(`${where}: range includes the network or broadcast address`);
    if (end - start + 1 > 1 << 24) problems.push(`${where}: range is larger than 2^24 addresses`);
    if (s.router !== undefined && !inNetwork(ipToUint(s.router) ?? 0, net, s.prefix)) problems.push(`${where}: router lies outside the network`);
    const excluded = new Set<number>();
    if (server !== null) excluded.add(server);
    if (s.router !== undefined) excluded.add(ipToUint(s.router) as number);
    subnets.push({ cfg: s, network: net, prefix: s.prefix, start, end, range: [s.range[0], s.range[1]], broadcast: uintToIp(bcast), excluded });
  });
  for (let i = 0; i < subnets.length; i++) {
    for (let j = i + 1; j < subnets.length; j++) {
      const a = subnets[i] as Subnet;
      const b = subnets[j] as Subnet;
      if (a.start <= b.end && b.start <= a.end) problems.push(`ranges of ${a.cfg.network}/${a.prefix} and ${b.cfg.network}/${b.prefix} overlap`);
    }
  }
  return { subnets, problems };
}

function containsIp(s: Subnet, ip: string): boolean {
  const n = ipToUint(ip);
  return n !== null && inNetwork(n, s.network, s.prefix);
}

function inRange(s: Subnet, ip: string): boolean {
  const n = ipToUint(ip);
  return n !== null && n >= s.start && n <= s.end;
}

type RequestVerdict = { kind: 'ack' } | { kind: 'nak'; reason: string } | { kind: 'silent'; reason: string };

export class DhcpResponder {
  readonly leases: LeaseStore;
  private readonly config: DhcpServerConfig;
  private readonly reservations: ReservationSource | undefined;
  private readonly subnets: Subnet[];
  private readonly local: Subnet | undefined;
  private readonly serverIp: string;
  private readonly nextServer: string;
  private readonly offerMs: number;
  private readonly declineMs: number;
  private readonly authoritative: boolean;

  constructor(config: DhcpServerConfig, deps: { leases?: LeaseStore; reservations?: ReservationSource } = {}) {
    const { subnets, problems } = validateConfig(config);
    if (problems.length > 0) throw new DhcpConfigError(problems);
    this.config = config;
    this.subnets = subnets;
    this.serverIp = config.serverIp;
    this.nextServer = config.nextServer ?? config.serverIp;
    this.offerMs = (config.offerSeconds ?? DEFAULT_OFFER_SECONDS) * 1000;
    this.declineMs = (config.declineSeconds ?? DEFAULT_DECLINE_SECONDS) * 1000;
    this.authoritative = config.authoritative ?? true;
    this.leases = deps.leases ?? new InMemoryLeaseStore();
    this.reservations = deps.reservations;
    this.local = subnets.find((s) => containsIp(s, config.serverIp)) ?? (subnets.length === 1 ? subnets[0] : undefined);
  }

  get mode(): DhcpMode {
    return this.config.mode;
  }

  handle(p: DhcpPacket, meta: RequestMeta): DhcpAction[] {
    const out: DhcpAction[] = [];
    const type = getMessageType(p);
    if (p.op !== BOOTREQUEST) return [this.logEntry('debug', 'drop', p, { reason: 'not-a-request' })];
    if (type === null) return [this.logEntry('debug', 'drop', p, { reason: 'no-message-type' })];
    if (p.chaddr === '' || /^(00:)*00$/.test(p.chaddr)) return [this.logEntry('debug', 'drop', p, { reason: 'no-chaddr' })];

    if (meta.receivedOn === 'port4011') {
      this.bootServerRequest(p, type, meta, out);
      return out;
    }
    if (this.config.mode === 'proxy') {
      if (type === MessageType.DISCOVER) this.proxyOffer(p, out);
      else out.push(this.logEntry('debug', 'drop', p, { reason: 'proxy-mode-ignores-message' }));
      return out;
    }
    switch (type) {
      case MessageType.DISCOVER:
        this.discover(p, meta.now, out);
        break;
      case MessageType.REQUEST:
        this.request(p, meta.now, out);
        break;
      case MessageType.DECLINE:
        this.decline(p, meta.now, out);
        break;
      case MessageType.RELEASE:
        this.release(p, out);
        break;
      case MessageType.INFORM:
        this.inform(p, out);
        break;
      default:
        out.push(this.logEntry('debug', 'drop', p, { reason: 'unsupported-message-type' }));
    }
    return out;
  }

  // --- full mode ---------------------------------------------------------------------------------

  private discover(p: DhcpPacket, now: number, out: DhcpAction[]): void {
    const subnet = this.subnetForClient(p);
    if (!subnet) {
      out.push(this.logEntry('warn', 'drop', p, { reason: p.giaddr !== ZERO_IP ? 'no-subnet-for-relay' : 'no-local-subnet' }));
      return;
    }
    const mac = p.chaddr;
    const reservation = this.reservationFor(mac, subnet, now, out, p);
    let ip: string | undefined = reservation?.ip;
    if (ip === undefined) {
      const lease = this.leases.get(mac);
      if (lease && lease.state !== 'declined' && inRange(subnet, lease.ip) && this.usable(lease.ip, mac, subnet, now)) ip = lease.ip;
    }
    if (ip === undefined) {
      const wanted = getRequestedIp(p);
      if (wanted !== null && inRange(subnet, wanted) && this.usable(wanted, mac, subnet, now)) ip = wanted;
    }
    if (ip === undefined) {
      ip = this.leases.allocate(subnet.range, now, (cand) => this.usable(cand, mac, subnet, now));
    }
    if (ip === undefined) {
      out.push(this.logEntry('warn', 'no-offer', p, { reason: 'pool-exhausted', detail: `${subnet.cfg.network}/${subnet.prefix}` }));
      return;
    }
    this.leases.offer(mac, ip, now + this.offerMs);
    const client = classifyClient(p);
    const boot = this.bootParts(p, client, reservation, false);
    const reply = this.reply(p, MessageType.OFFER, { yiaddr: ip, siaddr: this.nextServer, file: boot.file }, [
      ...this.leaseOptions(subnet),
      ...this.networkOptions(subnet, reservation),
      ...boot.options,
    ]);
    this.send(out, p, reply, this.destination(p, MessageType.OFFER), 'offer', { ip, client, boot: boot.choice });
  }

  private request(p: DhcpPacket, now: number, out: DhcpAction[]): void {
    const mac = p.chaddr;
    const serverId = getServerId(p);
    const requested = getRequestedIp(p);
    const hasCiaddr = p.ciaddr !== ZERO_IP;
    let ip: string | null;
    let subnet: Subnet | undefined;
    let verdict: RequestVerdict;

    if (serverId !== null) {
      // SELECTING: the client picked an offer; only the named server answers.
      if (serverId !== this.serverIp) {
        const lease = this.leases.get(mac);
        if (lease) this.leases.release(mac);
        out.push(this.logEntry('debug', 'drop', p, { reason: 'foreign-server-id', ip: serverId }));
        return;
      }
      ip = requested ?? (hasCiaddr ? p.ciaddr : null);
      subnet = this.subnetForClient(p);
      if (ip === null) verdict = { kind: 'nak', reason: 'no-requested-address' };
      else if (!subnet) verdict = { kind: 'silent', reason: 'no-subnet-for-relay' };
      else verdict = this.verdict(mac, ip, subnet, now, true);
    } else if (requested !== null && !hasCiaddr) {
      // INIT-REBOOT: the client wants to keep an address it remembers.
      ip = requested;
      subnet = this.subnetForClient(p);
      verdict = subnet ? this.verdict(mac, ip, subnet, now, false) : { kind: 'silent', reason: 'no-subnet-for-relay' };
    } else if (hasCiaddr) {
      // RENEWING (unicast) or REBINDING (broadcast): same checks, address in ciaddr.
      ip = p.ciaddr;
      subnet = p.giaddr !== ZERO_IP ? this.subnetForRelay(p.giaddr) : this.subnets.find((s) => containsIp(s, p.ciaddr));
      if (subnet) verdict = this.verdict(mac, ip, subnet, now, false);
      else verdict = this.authoritative ? { kind: 'nak', reason: 'wrong-subnet' } : { kind: 'silent', reason: 'wrong-subnet' };
    } else {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'request-without-address' }));
      return;
    }

    if (verdict.kind === 'silent') {
      out.push(this.logEntry('debug', 'drop', p, { reason: verdict.reason, ip: ip ?? undefined }));
      return;
    }
    if (verdict.kind === 'nak' || ip === null || !subnet) {
      this.nak(p, verdict.kind === 'nak' ? verdict.reason : 'no-address', out, ip ?? undefined);
      return;
    }
    const leaseMs = subnet.cfg.leaseSeconds * 1000;
    const cid = getClientId(p);
    this.leases.bind(mac, ip, now + leaseMs, cid ? cid.toString('hex') : undefined);
    const reservation = this.reservationIn(mac, subnet, now);
    const client = classifyClient(p);
    const boot = this.bootParts(p, client, reservation, false);
    const reply = this.reply(p, MessageType.ACK, { yiaddr: ip, ciaddr: p.ciaddr, siaddr: this.nextServer, file: boot.file }, [
      ...this.leaseOptions(subnet),
      ...this.networkOptions(subnet, reservation),
      ...boot.options,
    ]);
    this.send(out, p, reply, this.destination(p, MessageType.ACK), 'ack', { ip, client, boot: boot.choice });
  }

  /** Whether `mac` may have `ip` in `subnet`. `selected`: the client chose our offer (SELECTING). */
  private verdict(mac: string, ip: string, subnet: Subnet, now: number, selected: boolean): RequestVerdict {
    if (!containsIp(subnet, ip)) return { kind: 'nak', reason: 'wrong-subnet' };
    const expected = this.expectedAddress(mac, subnet, now);
    if (expected !== null) return expected === ip ? { kind: 'ack' } : { kind: 'nak', reason: 'not-your-address' };
    if (!selected && !this.authoritative) return { kind: 'silent', reason: 'no-record' };
    if (inRange(subnet, ip) && this.usable(ip, mac, subnet, now)) return { kind: 'ack' };
    return { kind: 'nak', reason: 'address-unavailable' };
  }

  /** The address this client should have here: its reservation, else the address its record holds. */
  private expectedAddress(mac: string, subnet: Subnet, now: number): string | null {
    const r = this.reservationIn(mac, subnet, now);
    if (r) return r.ip;
    const lease = this.leases.get(mac);
    if (lease && lease.state !== 'declined' && containsIp(subnet, lease.ip)) return lease.ip;
    return null;
  }

  private decline(p: DhcpPacket, now: number, out: DhcpAction[]): void {
    const serverId = getServerId(p);
    const ip = getRequestedIp(p);
    if ((serverId !== null && serverId !== this.serverIp) || ip === null) {
      out.push(this.logEntry('debug', 'drop', p, { reason: ip === null ? 'decline-without-address' : 'foreign-server-id' }));
      return;
    }
    const held = this.leases.findByAddress(ip);
    if (!held || held.mac !== p.chaddr) {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'decline-of-address-not-held', ip }));
      return;
    }
    this.leases.decline(ip, now + this.declineMs);
    out.push(this.logEntry('warn', 'decline', p, { reason: 'address-in-use-on-the-wire', ip }));
  }

  private release(p: DhcpPacket, out: DhcpAction[]): void {
    const serverId = getServerId(p);
    if (serverId !== null && serverId !== this.serverIp) {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'foreign-server-id' }));
      return;
    }
    const lease = this.leases.get(p.chaddr);
    if (!lease || lease.ip !== p.ciaddr) {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'release-of-address-not-held', ip: p.ciaddr }));
      return;
    }
    this.leases.release(p.chaddr);
    out.push(this.logEntry('info', 'release', p, { ip: p.ciaddr }));
  }

  private inform(p: DhcpPacket, out: DhcpAction[]): void {
    const subnet =
      p.giaddr !== ZERO_IP ? this.subnetForRelay(p.giaddr) : (this.subnets.find((s) => containsIp(s, p.ciaddr)) ?? this.local);
    const client = classifyClient(p);
    const boot = this.bootParts(p, client, undefined, false);
    // RFC 2131 §4.3.5: no yiaddr, no lease time; ciaddr copied.
    const reply = this.reply(p, MessageType.ACK, { ciaddr: p.ciaddr, siaddr: this.nextServer, file: boot.file }, [
      ...(subnet ? this.networkOptions(subnet, undefined) : []),
      ...boot.options,
    ]);
    this.send(out, p, reply, this.destination(p, MessageType.ACK), 'inform', { ip: p.ciaddr, client, boot: boot.choice });
  }

  private nak(p: DhcpPacket, reason: string, out: DhcpAction[], ip: string | undefined): void {
    // RFC 2131 §4.3.2: through a relay the NAK carries the broadcast bit so the relay broadcasts it.
    const flags = p.giaddr !== ZERO_IP ? p.flags | BROADCAST_FLAG : p.flags;
    const reply = this.reply(p, MessageType.NAK, { flags, siaddr: ZERO_IP }, [messageOption(reason)]);
    this.send(out, p, reply, this.destination(p, MessageType.NAK), 'nak', { ip, reason });
  }

  // --- proxyDHCP and boot server -----------------------------------------------------------------

  private proxyOffer(p: DhcpPacket, out: DhcpAction[]): void {
    const client = classifyClient(p);
    if (!client.pxe && !client.ipxe) {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'not-a-pxe-client', client }));
      return;
    }
    const boot = this.bootParts(p, client, this.reservations?.lookup(p.chaddr), true);
    if (!boot.choice) {
      out.push(this.logEntry('info', 'drop', p, { reason: 'no-boot-file-for-client', client }));
      return;
    }
    // siaddr is us, not the TFTP next-server: EDK2 sends its port-4011 (BINL) request to the proxy
    // offer's siaddr (option 54 only when siaddr is 0). The 4011 ACK then names the TFTP server.
    const reply = this.reply(p, MessageType.OFFER, { siaddr: this.serverIp, file: boot.file }, boot.options);
    this.send(out, p, reply, this.destination(p, MessageType.OFFER), 'offer', { client, boot: boot.choice });
  }

  /** Port 4011: a PXE client asks the boot server for its boot file (EDK2 BINL retry, iPXE proxy request). */
  private bootServerRequest(p: DhcpPacket, type: number, meta: RequestMeta, out: DhcpAction[]): void {
    if (type !== MessageType.REQUEST && type !== MessageType.INFORM) {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'unsupported-message-on-4011' }));
      return;
    }
    const client = classifyClient(p);
    if (!client.pxe && !client.ipxe) {
      out.push(this.logEntry('debug', 'drop', p, { reason: 'not-a-pxe-client', client }));
      return;
    }
    const boot = this.bootParts(p, client, this.reservations?.lookup(p.chaddr), true);
    if (!boot.choice) {
      out.push(this.logEntry('info', 'drop', p, { reason: 'no-boot-file-for-client', client }));
      return;
    }
    const reply = this.reply(p, MessageType.ACK, { ciaddr: p.ciaddr, siaddr: this.nextServer, file: boot.file }, boot.options);
    const to: Endpoint = {
      address: p.ciaddr !== ZERO_IP ? p.ciaddr : (meta.from?.address ?? BROADCAST_IP),
      port: meta.from?.port ?? DHCP_CLIENT_PORT,
    };
    this.send(out, p, reply, to, 'ack', { client, boot: boot.choice });
  }

  // --- building blocks ---------------------------------------------------------------------------

  private subnetForRelay(giaddr: string): Subnet | undefined {
    return this.subnets.find((s) => containsIp(s, giaddr));
  }

  /** giaddr picks the subnet of a relayed client; otherwise the client is on our own segment. */
  private subnetForClient(p: DhcpPacket): Subnet | undefined {
    return p.giaddr !== ZERO_IP ? this.subnetForRelay(p.giaddr) : this.local;
  }

  /** Not ours, not the router's, not held by another live record, not reserved for someone else. */
  private usable(ip: string, mac: string, subnet: Subnet, now: number): boolean {
    const n = ipToUint(ip);
    if (n === null || subnet.excluded.has(n)) return false;
    const held = this.leases.findByAddress(ip);
    if (held && held.mac !== mac && held.expires > now) return false;
    const owner = this.reservations?.macFor?.(ip);
    return owner === undefined || owner === mac;
  }

  /** The client's reservation when it lies in `subnet` and nobody else holds the address. */
  private reservationIn(mac: string, subnet: Subnet, now: number): Reservation | undefined {
    const r = this.reservations?.lookup(mac);
    if (!r || !containsIp(subnet, r.ip)) return undefined;
    const held = this.leases.findByAddress(r.ip);
    if (held && held.mac !== mac && held.expires > now) return undefined;
    return r;
  }

  /** reservationIn, logging why a reservation could not be used. */
  private reservationFor(mac: string, subnet: Subnet, now: number, out: DhcpAction[], p: DhcpPacket): Reservation | undefined {
    const r = this.reservations?.lookup(mac);
    if (!r) return undefined;
    if (!containsIp(subnet, r.ip)) {
      out.push(this.logEntry('warn', 'reservation-conflict', p, { reason: 'reservation-outside-client-subnet', ip: r.ip }));
      return undefined;
    }
    const held = this.leases.findByAddress(r.ip);
    if (held && held.mac !== mac && held.expires > now) {
      const reason = held.state === 'declined' ? 'reserved-address-declined' : 'reserved-address-held-by-another-client';
      out.push(this.logEntry('warn', 'reservation-conflict', p, { reason, ip: r.ip }));
      return undefined;
    }
    return r;
  }

  private leaseOptions(subnet: Subnet): OptionEntry[] {
    const lease = subnet.cfg.leaseSeconds;
    return [leaseTimeOption(lease), renewalTimeOption(Math.floor(lease / 2)), rebindingTimeOption(Math.floor((lease * 7) / 8))];
  }

  private networkOptions(subnet: Subnet, reservation: Reservation | undefined): OptionEntry[] {
    const o: OptionEntry[] = [subnetMaskOption(subnet.prefix)];
    if (subnet.cfg.router !== undefined) o.push(routerOption(subnet.cfg.router));
    if (subnet.cfg.dns && subnet.cfg.dns.length > 0) o.push(dnsOption(subnet.cfg.dns));
    if (reservation?.hostname) o.push(hostnameOption(reservation.hostname));
    if (subnet.cfg.domain) o.push(domainNameOption(subnet.cfg.domain));
    o.push(broadcastOption(subnet.broadcast));
    return o;
  }

  /**
   * Boot options for a network-boot client. `pxeReply` marks proxyDHCP and boot-server replies,
   * which must carry option 60 PXEClient (EDK2 and iPXE ignore proxy offers without it). Full-mode
   * replies omit it on purpose: with PXEClient and no option 43, EDK2 classifies the offer as BINL and
   * makes an extra request to port 4011; without it the offer is "DHCP only with a boot file" and
   * EDK2 boots from it directly. UEFI HTTP boot always needs option 60 HTTPClient.
   */
  private bootParts(
    p: DhcpPacket,
    client: BootClient,
    reservation: Reservation | undefined,
    pxeReply: boolean,
  ): { choice: BootChoice | null; options: OptionEntry[]; file: string } {
    // Server defaults, then the host's cluster and host overrides, then the reservation's own.
    const known = this.reservations?.bootFor?.(p.chaddr);
    const cfg: BootConfig =
      reservation?.boot || known
        ? { ...this.config.bootConfig, override: { ...this.config.bootConfig.override, ...known, ...reservation?.boot } }
        : this.config.bootConfig;
    const choice = chooseBootFile(client, cfg);
    const options: OptionEntry[] = [];
    if (client.httpBoot && !client.ipxe) options.push(vendorClassOption('HTTPClient'));
    else if (pxeReply) options.push(vendorClassOption('PXEClient'));
    let file = '';
    if (choice) {
      if (choice.kind === 'tftp') options.push(tftpServerOption(this.nextServer));
      options.push(bootFileOption(choice.file));
      if (Buffer.byteLength(choice.file, 'utf8') <= 127) file = choice.file;
    }
    if (client.ipxe) options.push(ipxeNoPxeDhcpOption());
    const uuid = p.options.get(Opt.CLIENT_UUID);
    if (pxeReply && uuid) options.push([Opt.CLIENT_UUID, uuid]);
    return { choice, options, file };
  }

  private reply(
    req: DhcpPacket,
    type: MessageTypeCode,
    f: { yiaddr?: string; ciaddr?: string; siaddr?: string; flags?: number; file?: string },
    extra: OptionEntry[],
  ): DhcpPacket {
    const options = new Map<number, Buffer>();
    options.set(Opt.MESSAGE_TYPE, Buffer.from([type]));
    options.set(Opt.SERVER_ID, serverIdOption(this.serverIp)[1]);
    for (const [code, value] of extra) options.set(code, value);
    const cid = req.options.get(Opt.CLIENT_ID);
    if (cid) options.set(Opt.CLIENT_ID, cid); // RFC 6842
    const rai = req.options.get(Opt.RELAY_AGENT_INFO);
    if (rai) options.set(Opt.RELAY_AGENT_INFO, rai); // RFC 3046: unchanged; the encoder puts it last
    const reply: DhcpPacket = {
      op: BOOTREPLY,
      htype: req.htype,
      hlen: req.hlen,
      hops: 0,
      xid: req.xid,
      secs: 0,
      flags: f.flags ?? req.flags,
      ciaddr: f.ciaddr ?? ZERO_IP,
      yiaddr: f.yiaddr ?? ZERO_IP,
      siaddr: f.siaddr ?? ZERO_IP,
      giaddr: req.giaddr,
      chaddr: req.chaddr,
      sname: '',
      file: f.file ?? '',
      options,
    };
    fitToClient(reply, req);
    return reply;
  }

  /** RFC 2131 §4.1. Node cannot unicast to a client without an address (no raw sockets), so it broadcasts. */
  private destination(p: DhcpPacket, type: MessageTypeCode): Endpoint {
    if (p.giaddr !== ZERO_IP) return { address: p.giaddr, port: DHCP_SERVER_PORT };
    if (type === MessageType.NAK) return { address: BROADCAST_IP, port: DHCP_CLIENT_PORT };
    if (p.ciaddr !== ZERO_IP) return { address: p.ciaddr, port: DHCP_CLIENT_PORT };
    return { address: BROADCAST_IP, port: DHCP_CLIENT_PORT };
  }

  private send(
    out: DhcpAction[],
    req: DhcpPacket,
    reply: DhcpPacket,
    to: Endpoint,
    event: string,
    extra: Partial<DhcpLogEntry>,
  ): void {
    out.push({ send: reply, to });
    out.push({ log: { ...this.logEntry(event === 'nak' ? 'warn' : 'info', event, req, extra).log, to } });
  }

  private logEntry(level: DhcpLogLevel, event: string, p: DhcpPacket, extra: Partial<DhcpLogEntry> = {}): { log: DhcpLogEntry } {
    const type = getMessageType(p);
    const entry: DhcpLogEntry = { level, event, message: type === null ? 'none' : messageTypeName(type), mac: p.chaddr, xid: p.xid };
    for (const [k, v] of Object.entries(extra) as Array<[keyof DhcpLogEntry, DhcpLogEntry[keyof DhcpLogEntry]]>) {
      if (v !== undefined) Object.assign(entry, { [k]: v });
    }
    return { log: entry };
  }
}

/**
 * Keeps a reply within what the client accepts (option 57, at least 576 bytes as an IP datagram).
 * When too big, drops options the client did not ask for in option 55 (never the essential ones).
 */
function fitToClient(reply: DhcpPacket, req: DhcpPacket): void {
  const limit = Math.max(DHCP_MIN_MAX_MESSAGE, getMaxMessageSize(req) ?? DHCP_MIN_MAX_MESSAGE) - IP_UDP_HEADERS;
  if (DHCP_HEADER_LENGTH + encodedOptionsLength(reply.options) <= limit) return;
  const prl = new Set(getParameterRequestList(req));
  for (const code of [...reply.options.keys()]) {
    if (!ESSENTIAL_OPTIONS.has(code) && !prl.has(code)) reply.options.delete(code);
  }
}
