// Request shapes of the REST API: one zod schema per body and query, mirroring the input types of
// src/engine/types.ts. Zod checks types and shapes only (unknown fields are refused everywhere); the
// domain rules (VLAN and MTU ranges, name patterns, ...) stay in the engine, which reports each with
// its own code.
import { z } from 'zod';
import { BOOT_FILE_KEYS, type BootFileKey } from '../boot/dhcp/boot-files.js';
import { HOST_STATES, LACP_MODES, LACP_RATES, NETWORK_ROLES, PORT_TYPES, SWITCH_TYPES, XMIT_HASH_POLICIES } from '../domain/model.js';
import { MAX_REPORTED_NICS } from '../domain/reconcile.js';
import { MAX_TEMPLATE_BYTES } from '../templates/service.js';
import type {
  AttachmentInput,
  AttachmentPatch,
  BondInput,
  BondPatch,
  ClusterInput,
  ClusterPatch,
  HostInput,
  HostPatch,
  NetworkInput,
  NetworkPatch,
  NicPatch,
} from '../engine/types.js';
import type { BondOptions, CustomProperties, InventoryReport, Ipv4Config, Ipv6Config } from '../domain/model.js';
import type { HostState } from '../domain/model.js';

export const MAX_CUSTOM_PROPERTIES = 256;
/** The engine's own limit, checked here too so that a huge report is refused before it is read into the engine. */
export const MAX_INVENTORY_NICS = MAX_REPORTED_NICS;
export const CUSTOM_KEY_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** An object reference: a numeric id or a name (the engine resolves it). */
export const refSchema = z.union([z.string(), z.number().int()]);

export const customPropertiesSchema = z
  .record(z.string().regex(CUSTOM_KEY_PATTERN), z.string())
  .refine((r) => Object.keys(r).length <= MAX_CUSTOM_PROPERTIES, {
    message: `at most ${MAX_CUSTOM_PROPERTIES} custom properties`,
  })
  // The refinement is invisible to z.toJSONSchema; say the same in the document.
  .meta({ maxProperties: MAX_CUSTOM_PROPERTIES });

const clusterDefaultsSchema = z.strictObject({
  dnsServers: z.array(z.string()).optional(),
  dnsSearch: z.array(z.string()).optional(),
});

// ------------------------------------------------------------------ networks

const networkFields = {
  name: z.string(),
  vlan: z.number().int().nullable().optional(),
  mtu: z.number().int().optional(),
  bridged: z.boolean().optional(),
  role: z.enum(NETWORK_ROLES).optional(),
  required: z.boolean().optional(),
  label: z.string().nullable().optional(),
  description: z.string().optional(),
  portType: z.enum(PORT_TYPES).optional().meta({ description: 'VM-facing port of a bridged network on ovs clusters (default access).' }),
  trunks: z.array(z.number().int()).optional().meta({ description: 'VLANs of a trunk or hybrid port.' }),
};

export const networkInputSchema = z.strictObject(networkFields);
export const networkPatchSchema = z.strictObject({ ...networkFields, name: z.string().optional() });
const managementNetworkSchema = networkInputSchema.omit({ role: true });

// ------------------------------------------------------------------ clusters

export const clusterInputSchema = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  isDefault: z.boolean().optional(),
  defaults: clusterDefaultsSchema.optional(),
  switchType: z.enum(SWITCH_TYPES).optional().meta({ description: 'linux (default) or ovs (Open vSwitch).' }),
  managementNetwork: managementNetworkSchema.optional(),
});

export const clusterPatchSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  isDefault: z.boolean().optional(),
  defaults: clusterDefaultsSchema.optional(),
  switchType: z.enum(SWITCH_TYPES).optional().meta({ description: 'Changes the plan of every host of the cluster.' }),
});

// ------------------------------------------------------------------ boot files

/** A string sets the entry, null removes it; the values' rules are the boot file service's (BOOT_FILE_INVALID). */
export const bootFilesPatchSchema = z.strictObject(
  Object.fromEntries(BOOT_FILE_KEYS.map((k) => [k, z.string().nullable().optional()])) as Record<BootFileKey, z.ZodOptional<z.ZodNullable<z.ZodString>>>,
);

// ------------------------------------------------------------------ hooks

// Shapes only: the rules (name pattern, phase, order range, size, sh -n) are the service's, with their
// own codes (HOOK_NAME_INVALID, HOOK_PHASE_INVALID, HOOK_ORDER_INVALID, HOOK_TOO_LARGE, HOOK_LINT_FAILED).
export const hookInputSchema = z.strictObject({
  phase: z.string().meta({ description: 'before-apply or after-apply.' }),
  name: z.string().meta({ description: "1-64 letters, digits, '.', '_', '-', starting with a letter or digit." }),
  order: z.number().optional().meta({ description: 'Sort key within the owner and phase, 0-999 (default 50).' }),
  script: z.string().meta({ description: 'Shell script (at most 16 KiB); must pass sh -n.' }),
});

export const hookPatchSchema = z.strictObject({
  order: z.number().optional().meta({ description: 'New sort key (0-999); default: unchanged.' }),
  script: z.string().optional().meta({ description: 'New script; default: unchanged.' }),
});

// ------------------------------------------------------------------ hosts

const hostStateSchema = z.enum(HOST_STATES);

export const hostInputSchema = z.strictObject({
  name: z.string(),
  cluster: refSchema.optional(),
  state: hostStateSchema.optional(),
  bootMac: z.string().nullable().optional(),
  custom: customPropertiesSchema.optional(),
});

export const hostPatchSchema = z.strictObject({
  name: z.string().optional(),
  cluster: refSchema.optional(),
  state: hostStateSchema.optional(),
  bootMac: z.string().nullable().optional(),
  custom: customPropertiesSchema.optional(),
});

export const hostListQuerySchema = z.strictObject({
  cluster: z.string().optional(),
  state: hostStateSchema.optional(),
});

// ------------------------------------------------------------------ NICs

export const nicPatchSchema = z.strictObject({
  labels: z.array(z.string()),
});

// ------------------------------------------------------------------ bonds

const nonNegativeInt = z.number().int().nonnegative();

export const bondOptionsSchema = z.strictObject({
  miimon: nonNegativeInt.optional(),
  updelay: nonNegativeInt.optional(),
  downdelay: nonNegativeInt.optional(),
  arp_interval: nonNegativeInt.optional(),
  arp_ip_target: z.array(z.ipv4()).optional(),
  lacp_rate: z.enum(LACP_RATES).optional(),
  xmit_hash_policy: z.enum(XMIT_HASH_POLICIES).optional(),
  primary: z.string().optional(),
  lacp: z.enum(LACP_MODES).optional().meta({ description: 'Open vSwitch bonds: off, passive or active.' }),
});

export const bondInputSchema = z.strictObject({
  name: z.string().optional(),
  mode: z.string(),
  options: bondOptionsSchema.optional(),
  members: z.array(z.string()),
  mac: z.string().nullable().optional(),
  labels: z.array(z.string()).optional(),
});

export const bondPatchSchema = z.strictObject({
  name: z.string().optional(),
  mode: z.string().optional(),
  options: bondOptionsSchema.optional(),
  members: z.array(z.string()).optional(),
  mac: z.string().nullable().optional(),
  labels: z.array(z.string()).optional(),
});

// ------------------------------------------------------------------ attachments

const gatewaySchema = z.string().nullable().optional();

export const ipv4ConfigSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('none') }),
  z.strictObject({ method: z.literal('dhcp') }),
  z.strictObject({
    method: z.literal('static'),
    address: z.string(),
    prefix: z.number().int().min(0).max(32),
    gateway: gatewaySchema,
  }),
]);

export const ipv6ConfigSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('none') }),
  z.strictObject({
    method: z.literal('static'),
    address: z.string(),
    prefix: z.number().int().min(0).max(128),
    gateway: gatewaySchema,
  }),
]);

const qosLimitSchema = z.strictObject({
  maxRate: z.number().int().meta({ description: 'kbit/s.' }),
  maxBurst: z.number().int().meta({ description: 'kbit.' }),
});
export const attachmentQosSchema = z.strictObject({ egress: qosLimitSchema.optional(), ingress: qosLimitSchema.optional() });

export const attachmentInputSchema = z.strictObject({
  network: refSchema,
  interface: z.string(),
  ipv4: ipv4ConfigSchema.optional(),
  ipv6: ipv6ConfigSchema.optional(),
  custom: customPropertiesSchema.optional(),
  qos: attachmentQosSchema.optional(),
});

export const attachmentPatchSchema = z.strictObject({
  interface: z.string().optional(),
  ipv4: ipv4ConfigSchema.optional(),
  ipv6: ipv6ConfigSchema.optional(),
  custom: customPropertiesSchema.optional(),
  qos: attachmentQosSchema.optional(),
});

// ------------------------------------------------------------------ inventory

export const inventoryNicSchema = z.strictObject({
  mac: z.string(),
  name: z.string(),
  driver: z.string().nullable().optional(),
  speed: z.number().nullable().optional(),
  carrier: z.boolean().optional(),
  pciAddress: z.string().nullable().optional(),
});

export const inventoryReportSchema = z.strictObject({
  bootMac: z.string(),
  nics: z.array(inventoryNicSchema).max(MAX_INVENTORY_NICS),
});

// ------------------------------------------------------------------ plan

export const planQuerySchema = z.strictObject({
  format: z.enum(['json', 'yaml']).optional(),
});

// ------------------------------------------------------------------ boots

export const MAX_BOOTS_LIMIT = 100;

export const bootsQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_BOOTS_LIMIT))
    .optional()
    .meta({ description: `How many boots, newest first (1-${MAX_BOOTS_LIMIT}, default 10).` }),
});

// ------------------------------------------------------------------ compile-time agreement with the engine

/** Fails to compile when what a schema accepts is not what the engine's input type allows. */
type Assignable<From, To> = [From] extends [To] ? true : false;
function agree<T extends true>(): T | undefined {
  return undefined;
}
agree<Assignable<z.output<typeof clusterInputSchema>, ClusterInput>>();
agree<Assignable<z.output<typeof clusterPatchSchema>, ClusterPatch>>();
agree<Assignable<z.output<typeof networkInputSchema>, NetworkInput>>();
agree<Assignable<z.output<typeof networkPatchSchema>, NetworkPatch>>();
agree<Assignable<z.output<typeof hostInputSchema>, HostInput>>();
agree<Assignable<z.output<typeof hostPatchSchema>, HostPatch>>();
agree<Assignable<z.output<typeof hostListQuerySchema>, { cluster?: string; state?: HostState }>>();
agree<Assignable<z.output<typeof nicPatchSchema>, NicPatch>>();
agree<Assignable<z.output<typeof bondOptionsSchema>, BondOptions>>();
agree<Assignable<z.output<typeof bondInputSchema>, BondInput>>();
agree<Assignable<z.output<typeof bondPatchSchema>, BondPatch>>();
agree<Assignable<z.output<typeof ipv4ConfigSchema>, Ipv4Config>>();
agree<Assignable<z.output<typeof ipv6ConfigSchema>, Ipv6Config>>();
agree<Assignable<z.output<typeof attachmentInputSchema>, AttachmentInput>>();
agree<Assignable<z.output<typeof attachmentPatchSchema>, AttachmentPatch>>();
agree<Assignable<z.output<typeof customPropertiesSchema>, CustomProperties>>();
agree<Assignable<z.output<typeof inventoryReportSchema>, InventoryReport>>();
// ...and the same field names, so that a field added to an engine input type without a schema field
// (or the reverse) is noticed here.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
agree<SameKeys<ClusterInput, z.output<typeof clusterInputSchema>>>();
agree<SameKeys<ClusterPatch, z.output<typeof clusterPatchSchema>>>();
agree<SameKeys<NetworkInput, z.output<typeof networkInputSchema>>>();
agree<SameKeys<NetworkPatch, z.output<typeof networkPatchSchema>>>();
agree<SameKeys<HostInput, z.output<typeof hostInputSchema>>>();
agree<SameKeys<HostPatch, z.output<typeof hostPatchSchema>>>();
agree<SameKeys<NicPatch, z.output<typeof nicPatchSchema>>>();
agree<SameKeys<BondOptions, z.output<typeof bondOptionsSchema>>>();
agree<SameKeys<BondInput, z.output<typeof bondInputSchema>>>();
agree<SameKeys<BondPatch, z.output<typeof bondPatchSchema>>>();
agree<SameKeys<AttachmentInput, z.output<typeof attachmentInputSchema>>>();
agree<SameKeys<AttachmentPatch, z.output<typeof attachmentPatchSchema>>>();
agree<SameKeys<InventoryReport, z.output<typeof inventoryReportSchema>>>();
agree<SameKeys<InventoryReport['nics'][number], z.output<typeof inventoryNicSchema>>>();

// ---------------------------------------------------------------- templates (src/templates/service.ts)

const templateSource = z.string().max(MAX_TEMPLATE_BYTES).meta({ description: 'Handlebars source of the template.' });
const templateRevision = z.number().int().min(1);
const templateAuthor = z.string().min(1).max(128).optional().meta({ description: "Recorded with the change; default 'admin'." });

export const templateSaveSchema = z.strictObject({
  source: templateSource,
  message: z.string().min(1).max(500),
  author: templateAuthor,
  activate: z.boolean().optional().meta({ description: 'Make it the current revision (default true); false keeps it for canary pins.' }),
});

export const templateRenderSchema = z.strictObject({
  host: z.string().min(1).optional().meta({ description: 'Host id or name (required except for boot.ipxe).' }),
  revision: templateRevision.optional().meta({ description: "Render this revision instead of the host's effective one." }),
  source: templateSource.optional(),
});

export const templateDiffSchema = z.strictObject({ source: templateSource });

export const templateRollbackSchema = z.strictObject({ revision: templateRevision, author: templateAuthor });

export const templatePinSchema = z.strictObject({
  revision: templateRevision,
  host: z.string().min(1).optional().meta({ description: 'Host id or name (give a host or a cluster).' }),
  cluster: z.string().min(1).optional().meta({ description: 'Cluster id or name (give a host or a cluster).' }),
  author: templateAuthor,
});
