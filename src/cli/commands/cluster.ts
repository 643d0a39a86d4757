// tabula cluster list | show C | create NAME [...] | update C [...] | delete C
import { type Command, Option } from 'commander';
import { type Cluster, SWITCH_TYPES, type SwitchType } from '../../domain/model.js';
import type { ClusterInput, ClusterPatch } from '../../engine/types.js';
import { type Ctx, type Session, action } from '../context.js';
import type { Column } from '../format.js';
import { UsageError, parseInteger, parseList } from '../parse.js';
import { networkColumns } from './network.js';

interface ClusterOpts {
  name?: string;
  description?: string;
  default?: boolean;
  dns?: string[];
  search?: string[];
  mgmtName?: string;
  mgmtVlan?: number;
  mgmtMtu?: number;
  mgmtBridged?: boolean;
  switchType?: SwitchType;
}

const clusterColumns: Column<Cluster>[] = [
  { header: 'ID', value: (c) => c.id, align: 'right' },
  { header: 'NAME', value: (c) => c.name },
  { header: 'DEFAULT', value: (c) => c.isDefault },
  { header: 'SWITCH', value: (c) => c.switchType ?? 'linux' },
  { header: 'DNS', value: (c) => c.defaults.dnsServers },
  { header: 'SEARCH', value: (c) => c.defaults.dnsSearch },
  { header: 'DESCRIPTION', value: (c) => c.description },
];

export function clusterFields(c: Cluster): [string, unknown][] {
  return [
    ['id', c.id],
    ['name', c.name],
    ['description', c.description],
    ['default', c.isDefault],
    ['switch type', c.switchType ?? 'linux'],
    ['dns servers', c.defaults.dnsServers.join(', ')],
    ['dns search', c.defaults.dnsSearch.join(', ')],
    ['created', c.createdAt],
    ['updated', c.updatedAt],
  ];
}

function showCluster(ctx: Ctx, c: Cluster): void {
  ctx.print(c, () => {
    const networks = ctx.engine().listNetworks(c.id);
    return `${ctx.fields(clusterFields(c))}\nnetworks:\n${ctx.table(networkColumns, networks)}`;
  });
}

function commonOptions(cmd: Command): Command {
  return cmd
    .option('--description <text>', 'free text')
    .option('--dns <servers>', 'DNS servers for every host, comma-separated ("" clears)', parseList)
    .option('--search <domains>', 'DNS search domains, comma-separated ("" clears)', parseList)
    .addOption(
      new Option('--switch-type <type>', 'how hosts realise networks: linux (bonds, VLANs, bridges) or ovs (Open vSwitch); a change re-plans every host').choices(
        SWITCH_TYPES,
      ),
    );
}

export function registerCluster(program: Command, session: Session): void {
  const cluster = program.command('cluster').description('clusters: a set of hosts sharing logical networks and DNS defaults');

  cluster
    .command('list')
    .description('list clusters')
    .action(
      action(session, (ctx) => {
        const all = ctx.engine().listClusters();
        ctx.print(all, () => ctx.table(clusterColumns, all));
      }),
    );

  cluster
    .command('show')
    .description('show a cluster and its networks')
    .argument('<cluster>', 'cluster name or id')
    .action(action(session, (ctx, [ref]) => showCluster(ctx, ctx.engine().getCluster(ref as string))));

  commonOptions(
    cluster
      .command('create')
      .description('create a cluster with its management network')
      .argument('<name>', 'cluster name')
      .option('--default', 'make it the default cluster (auto-enrolled hosts land there)'),
  )
    .option('--mgmt-name <name>', 'management network name', 'mgmt')
    .addOption(new Option('--mgmt-vlan <id>', 'management network VLAN (default untagged)').argParser(parseInteger))
    .addOption(new Option('--mgmt-mtu <mtu>', 'management network MTU (default 1500)').argParser(parseInteger))
    .option('--mgmt-bridged', 'realise the management network as a Linux bridge')
    .action(
      action<ClusterOpts>(session, (ctx, [name], o) => {
        const input: ClusterInput = {
          name: name as string,
          ...(o.description !== undefined ? { description: o.description } : {}),
          ...(o.default ? { isDefault: true } : {}),
          ...(o.switchType ? { switchType: o.switchType } : {}),
          defaults: { ...(o.dns ? { dnsServers: o.dns } : {}), ...(o.search ? { dnsSearch: o.search } : {}) },
          managementNetwork: {
            name: o.mgmtName ?? 'mgmt',
            ...(o.mgmtVlan !== undefined ? { vlan: o.mgmtVlan } : {}),
            ...(o.mgmtMtu !== undefined ? { mtu: o.mgmtMtu } : {}),
            ...(o.mgmtBridged ? { bridged: true } : {}),
          },
        };
        showCluster(ctx, ctx.engine().createCluster(input));
      }),
    );

  commonOptions(
    cluster
      .command('update')
      .description('change a cluster (its management network is changed with `network update`)')
      .argument('<cluster>', 'cluster name or id')
      .option('--name <name>', 'rename the cluster')
      .option('--default', 'make it the default cluster'),
  ).action(
    action<ClusterOpts>(session, (ctx, [ref], o) => {
      const patch: ClusterPatch = {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.default ? { isDefault: true } : {}),
        ...(o.switchType ? { switchType: o.switchType } : {}),
      };
      if (o.dns || o.search) patch.defaults = { ...(o.dns ? { dnsServers: o.dns } : {}), ...(o.search ? { dnsSearch: o.search } : {}) };
      if (Object.keys(patch).length === 0) throw new UsageError('cluster update: nothing to change; give at least one option (see --help)');
      showCluster(ctx, ctx.engine().updateCluster(ref as string, patch));
    }),
  );

  cluster
    .command('delete')
    .description('delete an empty cluster (not the default one)')
    .argument('<cluster>', 'cluster name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const c = ctx.engine().getCluster(ref as string);
        ctx.engine().deleteCluster(c.id);
        ctx.done({ deleted: { cluster: c.name } }, `cluster '${c.name}' deleted`);
      }),
    );
}
