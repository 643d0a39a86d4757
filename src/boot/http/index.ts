// The HTTP boot chain: createBootServices builds the express router (mounted at the root by
// createApp's `boot` option) over a BootBackend; its store is the boot timeline the DHCP and TFTP
// servers report to.
export {
  BOOT_TOKEN_HEADER,
  DEFAULT_KERNEL_ARGS,
  INITRD_FILE,
  KERNEL_FILE,
  type BootReport,
  type BootServices,
  type BootServicesOptions,
  bootReportSchema,
  createBootServices,
  hexhyp,
} from './router.js';
export { parseRange, type RangeResult } from './artefacts.js';
export { fallbackPlan, type FallbackPlan } from './fallback.js';
export type { BootBackend, BootHosts, BootTemplates } from './backend.js';
export type { BootRecord, BootStore, BootTimeline, BootTimelineEvent } from '../events.js';
