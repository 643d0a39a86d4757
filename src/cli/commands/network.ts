// tabula network list CLUSTER | show CLUSTER NET | create CLUSTER NAME [...] | update CLUSTER NET [...] | delete CLUSTER NET
import { type Command, Option } from 'commander';
import { type LogicalNetwork, NETWORK_ROLES, type NetworkRole, PORT_TYPES, type PortType } from '../../domain/model.js';
import type { NetworkInput, NetworkPatch } from '../../engine/types.js';
import { type Ctx, type Session, action } from '../context.js';
import type { Column } from '../format.js';
import { UsageError, parseInteger, parseIntegerList, parseVlan } from '../parse.js';

interface NetworkOpts {
  name?: string;
  vlan?: number | 'none';
  mtu?: number;
  bridged?: boolean;
  role?: NetworkRole;
  required?: boolean;
  label?: string | false;
  description?: string;
  portType?: PortType;
  trunks?: number[];
}

export const networkColumns: Column<LogicalNetwork>[] = [
  { header: 'ID', value: (n) => n.id, align: 'right' },
  { header: 'NAME', value: (n) => n.name },
  { header: 'VLAN', value: (n) => n.vlan, align: 'right' },
  { header: 'MTU', value: (n) => n.mtu, align: 'right' },
  { header: 'BRIDGED', value: (n) => n.bridged },
  { header: 'ROLE', value: (n) => n.role },
  { header: 'REQUIRED', value: (n) => n.required },
  { header: 'LABEL', value: (n) => n.label },
  { header: 'DESCRIPTION', value: (n) => n.description },
];

function showNetwork(ctx: Ctx, cluster: string, n: LogicalNetwork): void {
  ctx.print(n, () =>
    ctx.fields([
      ['id', n.id],
      ['cluster', cluster],
      ['name', n.name],
      ['vlan', n.vlan ?? 'untagged'],
      ['mtu', n.mtu],
      ['bridged', n.bridged],
      ['role', n.role],
      ['required', n.required],
      ['label', n.label],
      ['port type', n.portType ?? 'access'],
      ['trunks', (n.trunks ?? []).join(', ')],
      ['description', n.description],
    ]),
  );
}

function networkOptions(cmd: Command, update: boolean): Command {
  cmd
    .addOption(new Option('--vlan <id>', update ? 'VLAN id, or "none" for untagged' : 'VLAN id (default untagged)').argParser(parseVlan))
    .addOption(new Option('--mtu <mtu>', 'MTU (default 1500)').argParser(parseInteger))
    .option('--bridged', 'a VM network: realised as a Linux bridge named after the network')
    .option('--no-bridged', 'not bridged (the default)')
    .addOption(new Option('--role <role>', 'network role (default other)').choices(NETWORK_ROLES))
    .option('--required', 'hosts missing this network are out of sync');
  if (update) cmd.option('--no-required', 'no longer required');
  cmd.option('--label <label>', 'attach automatically to NICs and bonds carrying this label');
  if (update) cmd.option('--no-label', 'remove the label');
  cmd
    .addOption(new Option('--port-type <type>', 'VM-facing port on ovs clusters: access (the VLAN untagged), trunk (--trunks tagged) or hybrid (the VLAN untagged, --trunks tagged)').choices(PORT_TYPES))
    .addOption(new Option('--trunks <ids>', 'VLANs of a trunk or hybrid port, comma-separated ("" clears)').argParser(parseIntegerList));
  return cmd.option('--description <text>', 'free text');
}

function fromOpts(o: NetworkOpts): NetworkPatch {
  return {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.vlan !== undefined ? { vlan: o.vlan === 'none' ? null : o.vlan } : {}),
    ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
    ...(o.bridged !== undefined ? { bridged: o.bridged } : {}),
    ...(o.role !== undefined ? { role: o.role } : {}),
    ...(o.required !== undefined ? { required: o.required } : {}),
    ...(o.label !== undefined ? { label: o.label === false ? null : o.label } : {}),
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(o.portType !== undefined ? { portType: o.portType } : {}),
    ...(o.trunks !== undefined ? { trunks: o.trunks } : {}),
  };
}

export function registerNetwork(program: Command, session: Session): void {
  const network = program.command('network').description("logical networks of a cluster (VLAN, MTU, bridge, role)");

  network
    .command('list')
    .description("list a cluster's networks")
    .argument('<cluster>', 'cluster name or id')
    .action(
      action(session, (ctx, [cluster]) => {
        const all = ctx.engine().listNetworks(cluster as string);
        ctx.print(all, () => ctx.table(networkColumns, all));
      }),
    );

  network
    .command('show')
    .description('show a network')
    .argument('<cluster>', 'cluster name or id')
    .argument('<network>', 'network name or id')
    .action(
      action(session, (ctx, [cluster, net]) => {
        const c = ctx.engine().getCluster(cluster as string);
        showNetwork(ctx, c.name, ctx.engine().getNetwork(c.id, net as string));
      }),
    );

  networkOptions(
    network.command('create').description('create a network in a cluster').argument('<cluster>', 'cluster name or id').argument('<name>', 'network name (also the bridge name)'),
    false,
  ).action(
    action<NetworkOpts>(session, (ctx, [cluster, name], o) => {
      const input: NetworkInput = { ...fromOpts(o), name: name as string };
      const c = ctx.engine().getCluster(cluster as string);
      showNetwork(ctx, c.name, ctx.engine().createNetwork(c.id, input));
    }),
  );

  networkOptions(
    network
      .command('update')
      .description('change a network; every host of the cluster is re-validated')
      .argument('<cluster>', 'cluster name or id')
      .argument('<network>', 'network name or id')
      .option('--name <name>', 'rename the network'),
    true,
  ).action(
    action<NetworkOpts>(session, (ctx, [cluster, net], o) => {
      const patch = fromOpts(o);
      if (Object.keys(patch).length === 0) throw new UsageError('network update: nothing to change; give at least one option (see --help)');
      const c = ctx.engine().getCluster(cluster as string);
      showNetwork(ctx, c.name, ctx.engine().updateNetwork(c.id, net as string, patch));
    }),
  );

  network
    .command('delete')
    .description('delete a network that no host uses (not the management network)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<network>', 'network name or id')
    .action(
      action(session, (ctx, [cluster, net]) => {
        const c = ctx.engine().getCluster(cluster as string);
        const n = ctx.engine().getNetwork(c.id, net as string);
        ctx.engine().deleteNetwork(c.id, n.id);
        ctx.done({ deleted: { cluster: c.name, network: n.name } }, `network '${n.name}' deleted from cluster '${c.name}'`);
      }),
    );
}
