// The `kernel` field of a boot report (pxe/init.sh kernel_json): iproute2's JSON and the bonds' sysfs
// files, as a blade sends them. Only the fields src/domain/observed.ts reads are kept (zod strips the
// rest), and every list, map and string is bounded: a blade is not trusted to be well-behaved. The
// request body limit (1 MiB) bounds the whole document before it is parsed.
import { z } from 'zod';
import type { KernelScalar, KernelState } from '../../domain/observed.js';

const name = z.string().min(1).max(64);
const text = z.string().max(256);
const boundedRecord = <V extends z.ZodType>(value: V, max: number, what: string) =>
  z.record(z.string().max(64), value).refine((r) => Object.keys(r).length <= max, { message: `at most ${max} ${what}` });

const scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

/** info_data holds scalars, lists of scalars and, for a few kinds, lists of objects (VLAN QoS maps): only the first two are kept. */
const infoData = boundedRecord(z.unknown(), 256, 'link attributes').transform((r) => {
  const out: Record<string, KernelScalar | KernelScalar[]> = {};
  for (const [k, v] of Object.entries(r)) {
    if (scalar.safeParse(v).success) out[k] = v as KernelScalar;
    else if (Array.isArray(v) && v.length <= 64 && v.every((x) => scalar.safeParse(x).success)) out[k] = v as KernelScalar[];
  }
  return out;
});

const link = z.object({
  ifname: name,
  ifindex: z.number().int().nonnegative().optional(),
  flags: z.array(z.string().max(32)).max(32).optional(),
  mtu: z.number().int().nonnegative().max(1_000_000).optional(),
  master: name.optional(),
  link: name.optional(),
  operstate: text.optional(),
  link_type: text.optional(),
  address: text.optional(),
  permaddr: text.optional(),
  linkinfo: z
    .object({
      info_kind: text.optional(),
      info_data: infoData.optional(),
      info_slave_kind: text.optional(),
    })
    .optional(),
});

const addr = z.object({
  ifname: name,
  addr_info: z
    .array(
      z.object({
        family: text,
        local: text,
        prefixlen: z.number().int().min(0).max(128),
        scope: text.optional(),
      }),
    )
    .max(256)
    .optional(),
});

const route = z.object({
  dst: text,
  gateway: text.optional(),
  dev: name.optional(),
  protocol: text.optional(),
  scope: text.optional(),
});

/** `ovs-vsctl --format=json --data=json list TABLE`: headings and rows of OVSDB JSON values (read by observed.ts). */
const ovsdbTable = z.object({
  headings: z.array(z.string().max(64)).max(64),
  data: z.array(z.array(z.unknown()).max(64)).max(1024),
});

/** Open vSwitch read back by the blade (pxe/init.sh ovs_json); absent on linux plans. */
const ovsState = z.object({
  bridge: ovsdbTable.nullable().optional(),
  port: ovsdbTable.nullable().optional(),
  interface: ovsdbTable.nullable().optional(),
  qos: ovsdbTable.nullable().optional(),
  queue: ovsdbTable.nullable().optional(),
  bondShow: z.string().max(32768).optional(),
  lacpShow: z.string().max(32768).optional(),
});

/** Traffic control (pxe/init.sh tc_json): qdiscs as `tc -j qdisc show` lists them, ingress filters as text. */
const qdisc = z.object({
  kind: text,
  dev: name,
  root: z.boolean().optional(),
  options: boundedRecord(z.unknown(), 64, 'qdisc options')
    .transform((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => scalar.safeParse(v).success)) as Record<string, KernelScalar>)
    .optional(),
});
const tcState = z.object({
  qdisc: z.array(qdisc).max(1024).nullable().optional(),
  ingress: boundedRecord(z.string().max(8192), 64, 'ingress hooks').optional(),
});

export const kernelStateSchema = z.object({
  link: z.array(link).max(1024).nullable(),
  addr: z.array(addr).max(1024).nullable().optional(),
  route4: z.array(route).max(4096).nullable().optional(),
  route6: z.array(route).max(4096).nullable().optional(),
  bonds: boundedRecord(boundedRecord(z.string().max(1024), 64, 'bond files'), 64, 'bonds').optional(),
  ovs: ovsState.nullable().optional(),
  tc: tcState.nullable().optional(),
}) satisfies z.ZodType<KernelState, unknown>;
