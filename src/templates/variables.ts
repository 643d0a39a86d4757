// The variables each template sees, described next to their TypeScript types: Fields<T> requires an
// entry for every key of T (recursively), so adding a field to a context or to HostPlan without
// documenting it here fails to compile. docs/templates.md is generated from this (variablesMarkdown),
// and test/templates/docs.test.ts fails when the file is stale.
import type { TemplateName } from '../store/template-store.js';
import { type TemplateContexts, TEMPLATE_INFO } from './service.js';

type Primitive = string | number | boolean | null | undefined;

interface Base {
  /** As a reader of the template should think of it, e.g. `string`, `'up' | 'down'`, `number | null`. */
  type: string;
  doc: string;
}

type Variants<E extends { op: string }> = { [O in E['op']]: { doc: string; fields: Fields<Omit<Extract<E, { op: O }>, 'op'>> } };

/** The description of one value of type V. */
export type FieldDoc<V> = [NonNullable<V>] extends [Primitive]
  ? Base
  : [NonNullable<V>] extends [readonly (infer E)[]]
    ? [E] extends [Primitive]
      ? Base
      : [E] extends [{ op: string }]
        ? Base & { variants: Variants<E> }
        : Base & { items: Fields<E> }
    : string extends keyof NonNullable<V>
      ? [NonNullable<V>[string & keyof NonNullable<V>]] extends [Primitive | readonly Primitive[]]
        ? Base
        : Base & { values: Fields<NonNullable<V>[string & keyof NonNullable<V>]> }
      : Base & { fields: Fields<NonNullable<V>> };

/** One entry per key of T, optional keys included. */
export type Fields<T> = { [K in keyof T]-?: FieldDoc<T[K]> };

const ipState = (family: 4 | 6): FieldDoc<{ enabled: boolean; dhcp?: boolean; address?: { ip: string; 'prefix-length': number }[] }> => ({
  type: 'object',
  doc: `IPv${family} configuration of the device.`,
  fields: {
    enabled: { type: 'boolean', doc: `IPv${family} is configured on this device.` },
    dhcp: { type: 'boolean?', doc: 'Addresses come from DHCP.' },
    address: {
      type: 'array?',
      doc: 'Static addresses.',
      items: { ip: { type: 'string', doc: 'The address.' }, 'prefix-length': { type: 'number', doc: 'Prefix length.' } },
    },
  },
});

export const TEMPLATE_VARIABLES: { readonly [N in TemplateName]: Fields<TemplateContexts[N]> } = {
  'boot.ipxe': {
    publicUrl: { type: 'string', doc: 'The URL blades reach the server at (serve --public-url), without a trailing slash.' },
    retrySeconds: { type: 'number', doc: 'Seconds to wait before asking again when the server has no script for the blade.' },
  },
  'host.ipxe': {
    publicUrl: { type: 'string', doc: 'The URL blades reach the server at, without a trailing slash.' },
    mac: { type: 'string', doc: 'The MAC the blade booted from, hyphenated (52-54-00-ab-cd-ef), as in the boot URLs.' },
    token: { type: 'string', doc: "This boot's token (previews show PREVIEW-BOOT-TOKEN). Goes on the kernel command line as tabula.token." },
    kernelArgs: { type: 'string', doc: 'Extra kernel arguments (default: console=ttyS0 panic=-1).' },
    host: {
      type: 'object',
      doc: 'The host the MAC belongs to (enrolled on first boot).',
      fields: {
        name: { type: 'string', doc: 'Host name.' },
        generation: { type: 'number', doc: "The host's configuration generation." },
      },
    },
  },
  'apply.sh': {
    plan: {
      type: 'object',
      doc: "The host's plan (what `tabula plan HOST` prints), or the fallback plan when its configuration is invalid.",
      fields: {
        apiVersion: { type: "'tabula/v1'", doc: 'Plan format version.' },
        host: { type: 'string', doc: 'Host name.' },
        cluster: { type: 'string', doc: 'Cluster name.' },
        generation: { type: 'number', doc: 'The generation this plan realises; the blade reports it back.' },
        bootInterface: { type: 'string | null', doc: "The boot NIC's kernel name when the plan was computed." },
        switchType: { type: "'ovs'?", doc: 'Set on ovs clusters (Open vSwitch); absent on linux clusters.' },
        state: {
          type: 'object',
          doc: 'Desired state, nmstate-shaped (kebab-case keys: use `[key-name]` or `lookup` in Handlebars).',
          fields: {
            interfaces: {
              type: 'array',
              doc: 'Every device of the plan.',
              items: {
                name: { type: 'string', doc: 'Kernel name.' },
                type: { type: "'ethernet' | 'bond' | 'vlan' | 'linux-bridge' | 'ovs-bridge' | 'ovs-interface'", doc: 'Device kind (ovs-* on ovs clusters).' },
                state: { type: "'up' | 'down'", doc: 'Administrative state.' },
                description: { type: 'string?', doc: 'Which logical network(s) this device realises.' },
                mtu: { type: 'number', doc: 'MTU.' },
                'mac-address': { type: 'string?', doc: 'MAC to set (bonds with a fixed MAC).' },
                controller: { type: 'string?', doc: 'The bond or bridge this device is a port of.' },
                'link-aggregation': {
                  type: 'object?',
                  doc: 'Bond settings (bonds only).',
                  fields: {
                    mode: { type: 'string', doc: 'Kernel bond mode (active-backup, 802.3ad, ...).' },
                    port: { type: 'string[]', doc: 'Member NIC names.' },
                    options: { type: 'record', doc: 'Bond options by kernel name (miimon, lacp_rate, ...).' },
                  },
                },
                vlan: {
                  type: 'object?',
                  doc: 'VLAN settings (VLAN devices only).',
                  fields: { 'base-iface': { type: 'string', doc: 'The device the VLAN sits on.' }, id: { type: 'number', doc: 'VLAN id.' } },
                },
                bridge: {
                  type: 'object?',
                  doc: 'Bridge settings (Linux and Open vSwitch bridges).',
                  fields: {
                    options: {
                      type: 'object',
                      doc: 'Bridge options.',
                      fields: {
                        stp: { type: 'object', doc: 'Spanning tree.', fields: { enabled: { type: 'boolean', doc: 'STP on.' } } },
                        'forward-delay': { type: 'number?', doc: 'Forward delay (seconds; Linux bridges).' },
                        'mcast-snooping-enable': { type: 'boolean?', doc: 'Multicast snooping (Open vSwitch bridges).' },
                      },
                    },
                    port: {
                      type: 'array',
                      doc: 'Bridge ports.',
                      items: {
                        name: { type: 'string', doc: 'Port name.' },
                        vlan: {
                          type: 'object?',
                          doc: 'VLAN of an Open vSwitch port.',
                          fields: {
                            mode: { type: "'access' | 'trunk'", doc: 'access: one VLAN untagged; trunk: tagged VLANs (with `enable-native`: hybrid).' },
                            tag: { type: 'number?', doc: 'Access VLAN, or the native VLAN of a hybrid port; 0 = untagged.' },
                            'enable-native': { type: 'boolean?', doc: 'Hybrid port: frames of `tag` travel untagged.' },
                            'trunk-tags': { type: 'array?', doc: 'Tagged VLANs.', items: { id: { type: 'number', doc: 'VLAN id.' } } },
                          },
                        },
                        'link-aggregation': {
                          type: 'object?',
                          doc: 'An Open vSwitch bond (the port has several interfaces).',
                          fields: {
                            mode: { type: "'active-backup' | 'balance-slb' | 'balance-tcp'", doc: 'OVS bond mode.' },
                            lacp: { type: "'off' | 'passive' | 'active'", doc: 'LACP.' },
                            port: { type: 'array', doc: 'Member NICs.', items: { name: { type: 'string', doc: 'NIC name.' } } },
                            'bond-updelay': { type: 'number?', doc: 'Milliseconds a member must be up before it is used.' },
                            'bond-downdelay': { type: 'number?', doc: 'Milliseconds a member must be down before it is dropped.' },
                            'ovs-db': {
                              type: 'object?',
                              doc: 'OVSDB Port columns.',
                              fields: { other_config: { type: 'record', doc: 'lacp-time, bond-detect-mode, bond-miimon-interval, bond-primary.' } },
                            },
                          },
                        },
                      },
                    },
                  },
                },
                ipv4: ipState(4),
                ipv6: ipState(6),
                qos: {
                  type: 'object?',
                  doc: "Bandwidth limits of the host's traffic through this device (attachment QoS).",
                  fields: {
                    egress: {
                      type: 'object?',
                      doc: 'What the host sends.',
                      fields: { 'max-rate': { type: 'number', doc: 'kbit/s.' }, 'max-burst': { type: 'number', doc: 'kbit.' } },
                    },
                    ingress: {
                      type: 'object?',
                      doc: 'What the host receives.',
                      fields: { 'max-rate': { type: 'number', doc: 'kbit/s.' }, 'max-burst': { type: 'number', doc: 'kbit.' } },
                    },
                  },
                },
                'custom-properties': { type: 'record?', doc: 'Attachment custom properties (ethtool, sysctl, ...), untouched.' },
              },
            },
            routes: {
              type: 'object',
              doc: 'Routes.',
              fields: {
                config: {
                  type: 'array',
                  doc: 'One entry per route.',
                  items: {
                    destination: { type: 'string', doc: 'Destination prefix (0.0.0.0/0 for the default route).' },
                    'next-hop-address': { type: 'string', doc: 'Gateway.' },
                    'next-hop-interface': { type: 'string', doc: 'Outgoing device.' },
                  },
                },
              },
            },
            'dns-resolver': {
              type: 'object',
              doc: 'DNS.',
              fields: {
                config: {
                  type: 'object',
                  doc: 'Resolver configuration.',
                  fields: { server: { type: 'string[]', doc: 'Name servers.' }, search: { type: 'string[]', doc: 'Search domains.' } },
                },
              },
            },
            networks: {
              type: 'record',
              doc: 'Where each logical network lands, by network name.',
              values: {
                role: { type: 'string', doc: 'management, vm, storage, display, migration or other.' },
                vlan: { type: 'number | null', doc: 'VLAN id, null when untagged.' },
                mtu: { type: 'number', doc: 'MTU.' },
                bridged: { type: 'boolean', doc: 'Realised through a bridge.' },
                interface: { type: 'string', doc: "The device that carries the network's addresses." },
                base: { type: 'string', doc: 'The NIC or bond underneath.' },
                'ovs-bridge': { type: 'string?', doc: "ovs clusters: the Open vSwitch bridge of the network's port." },
              },
            },
            'custom-properties': { type: 'record', doc: 'Host custom properties, untouched.' },
          },
        },
        steps: {
          type: 'array',
          doc: 'The ordered steps that build the state from a bare kernel; each has an `op` and the fields below.',
          variants: {
            'load-modules': { doc: 'Load kernel modules.', fields: { modules: { type: 'string[]', doc: 'Module names.' } } },
            'link-down': { doc: 'Take a device down.', fields: { iface: { type: 'string', doc: 'Device.' } } },
            'bond-create': {
              doc: 'Create a bond with its mode and every option at creation.',
              fields: {
                iface: { type: 'string', doc: 'Bond name.' },
                mode: { type: 'string', doc: 'Kernel bond mode.' },
                options: { type: 'record', doc: 'Options by kernel name, as strings.' },
              },
            },
            'bond-add-port': { doc: 'Enslave a NIC to a bond.', fields: { iface: { type: 'string', doc: 'Bond.' }, port: { type: 'string', doc: 'NIC.' } } },
            'vlan-create': {
              doc: 'Create a VLAN device.',
              fields: { iface: { type: 'string', doc: 'VLAN device.' }, base: { type: 'string', doc: 'Base device.' }, id: { type: 'number', doc: 'VLAN id.' } },
            },
            'bridge-create': {
              doc: 'Create a bridge.',
              fields: { iface: { type: 'string', doc: 'Bridge.' }, stp: { type: 'boolean', doc: 'STP on.' }, forwardDelay: { type: 'number', doc: 'Forward delay.' } },
            },
            'bridge-add-port': { doc: 'Add a port to a bridge.', fields: { iface: { type: 'string', doc: 'Bridge.' }, port: { type: 'string', doc: 'Port device.' } } },
            'link-mtu': { doc: 'Set the MTU.', fields: { iface: { type: 'string', doc: 'Device.' }, mtu: { type: 'number', doc: 'MTU.' } } },
            'link-mac': { doc: 'Set the MAC address.', fields: { iface: { type: 'string', doc: 'Device.' }, mac: { type: 'string', doc: 'MAC.' } } },
            'link-up': { doc: 'Bring a device up.', fields: { iface: { type: 'string', doc: 'Device.' } } },
            'addr-add': {
              doc: 'Add a static address.',
              fields: {
                iface: { type: 'string', doc: 'Device.' },
                family: { type: '4 | 6', doc: 'Address family.' },
                address: { type: 'string', doc: 'Address.' },
                prefix: { type: 'number', doc: 'Prefix length.' },
              },
            },
            dhcp: { doc: 'Run DHCP on a device.', fields: { iface: { type: 'string', doc: 'Device.' }, family: { type: '4', doc: 'Address family.' } } },
            'route-add': {
              doc: 'Add a route.',
              fields: { destination: { type: 'string', doc: 'Prefix.' }, via: { type: 'string', doc: 'Gateway.' }, iface: { type: 'string', doc: 'Device.' } },
            },
            dns: { doc: 'Write the resolver configuration.', fields: { servers: { type: 'string[]', doc: 'Name servers.' }, search: { type: 'string[]', doc: 'Search domains.' } } },
            'ovs-bridge-create': { doc: 'Create an Open vSwitch bridge.', fields: { iface: { type: 'string', doc: 'Bridge.' } } },
            'ovs-port-add': { doc: 'Add a NIC to an Open vSwitch bridge.', fields: { iface: { type: 'string', doc: 'Bridge.' }, port: { type: 'string', doc: 'NIC.' } } },
            'ovs-bond-add': {
              doc: 'Add an Open vSwitch bond to a bridge.',
              fields: {
                iface: { type: 'string', doc: 'Bridge.' },
                bond: { type: 'string', doc: 'Bond (OVS port) name.' },
                ports: { type: 'string[]', doc: 'Member NICs.' },
                settings: { type: 'record', doc: 'Port columns for ovs-vsctl (bond_mode, lacp, other_config:lacp-time, ...).' },
              },
            },
            'ovs-internal-add': {
              doc: "Add an internal port (a network's device) to an Open vSwitch bridge.",
              fields: {
                iface: { type: 'string', doc: 'Bridge.' },
                port: { type: 'string', doc: 'Port (the network name).' },
                vlanMode: { type: "'access' | 'trunk' | 'native-untagged'", doc: 'OVS vlan_mode.' },
                tag: { type: 'number | null', doc: 'Access or native VLAN (0 = untagged).' },
                trunks: { type: 'number[]', doc: 'Tagged VLANs.' },
                mtu: { type: 'number', doc: 'MTU (mtu_request).' },
                mac: { type: 'string | null', doc: "MAC (the uplink's)." },
              },
            },
            'qos-limit': {
              doc: 'Limit the bandwidth of a device in one direction.',
              fields: {
                iface: { type: 'string', doc: 'Device.' },
                direction: { type: "'egress' | 'ingress'", doc: 'egress: what the host sends; ingress: what it receives.' },
                via: { type: "'tc' | 'ovs'", doc: 'tc on a kernel device, or Open vSwitch policing/linux-htb on an OVS port.' },
                maxRate: { type: 'number', doc: 'kbit/s.' },
                maxBurst: { type: 'number', doc: 'kbit.' },
              },
            },
            custom: {
              doc: 'Apply a custom property (tabula_custom in the shipped script).',
              fields: {
                scope: { type: "'host' | 'interface'", doc: 'Host or interface property.' },
                iface: { type: 'string | null', doc: 'Device for interface properties.' },
                key: { type: 'string', doc: 'Property key (e.g. sysctl/net.ipv4.ip_forward).' },
                value: { type: 'string', doc: 'Value.' },
              },
            },
          },
        },
      },
    },
    hooks: {
      type: 'array',
      doc: 'Admin hook scripts (`tabula hook`), in run order: per phase, the cluster\'s hooks before the host\'s, each by order then name. The shipped script writes each to `$TABULA_HOOKS/<file>` and runs the before-apply ones before the first step and the after-apply ones after the last; a hook that exits non-zero fails the apply.',
      items: {
        scope: { type: "'cluster' | 'host'", doc: 'Whose hook it is.' },
        phase: { type: "'before-apply' | 'after-apply'", doc: 'When it runs.' },
        name: { type: 'string', doc: 'Hook name (letters, digits, `.`, `_`, `-`); the report has a check `hook:<phase>:<name>`.' },
        order: { type: 'number', doc: 'Sort key within its scope and phase (0-999).' },
        file: { type: 'string', doc: 'Path under $TABULA_HOOKS: `<phase>/<NN>-<scope>-<name>`, NN its run position.' },
        script: { type: 'string', doc: 'The script text (at most 16 KiB, passed `sh -n`); use `{{shq script}}` to embed it.' },
      },
    },
  },
};

// ---------------------------------------------------------------- markdown

interface AnyDoc {
  type: string;
  doc: string;
  fields?: Record<string, AnyDoc>;
  items?: Record<string, AnyDoc>;
  values?: Record<string, AnyDoc>;
  variants?: Record<string, { doc: string; fields: Record<string, AnyDoc> }>;
}

const esc = (s: string): string => s.replace(/\|/g, '\\|');
/** Handlebars path segment: kebab-case keys need the segment-literal syntax. */
const seg = (k: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[${k}]`);

function rows(prefix: string, fields: Record<string, AnyDoc>, out: string[]): void {
  for (const [k, d] of Object.entries(fields)) {
    const path = `${prefix}${prefix ? '.' : ''}${seg(k)}`;
    out.push(`| \`${path}\` | \`${esc(d.type)}\` | ${esc(d.doc)} |`);
    if (d.fields) rows(path, d.fields, out);
    if (d.items) rows(`${path}[]`, d.items, out);
    if (d.values) rows(`${path}.<name>`, d.values, out);
  }
}

/** The reference section of docs/templates.md: one table per template, and the plan step variants. */
export function variablesMarkdown(): string {
  const out: string[] = [];
  for (const name of Object.keys(TEMPLATE_VARIABLES) as TemplateName[]) {
    const info = TEMPLATE_INFO[name];
    out.push(`### \`${name}\` (templates/${info.file})`, '', info.description, '', '| Variable | Type | Meaning |', '| --- | --- | --- |');
    const fields = TEMPLATE_VARIABLES[name] as unknown as Record<string, AnyDoc>;
    rows('', fields, out);
    const variantsOf = (f: Record<string, AnyDoc>, prefix: string): void => {
      for (const [k, d] of Object.entries(f)) {
        const path = `${prefix}${prefix ? '.' : ''}${seg(k)}`;
        if (d.variants) {
          out.push('', `Each element of \`${path}\` has \`op\` set to one of:`, '', '| `op` | Fields | Meaning |', '| --- | --- | --- |');
          for (const [op, v] of Object.entries(d.variants)) {
            const list = Object.entries(v.fields)
              .map(([fk, fd]) => `\`${seg(fk)}\`: \`${esc(fd.type)}\``)
              .join(', ');
            out.push(`| \`${op}\` | ${list} | ${esc(v.doc)} |`);
          }
        }
        if (d.fields) variantsOf(d.fields, path);
      }
    };
    variantsOf(fields, '');
    out.push('');
  }
  return out.join('\n');
}
