// What the HTTP boot chain asks of the engine side, as small interfaces: the router knows nothing of
// SQL. src/engine/index.ts (sqliteBootBackend) builds one over the SQLite store; tests may build
// their own.
import type { Repository } from '../../store/repository.js';
import type { TemplateService } from '../../templates/service.js';
import type { BootStore } from '../events.js';

/** Host lookup for the boot chain. */
export type BootHosts = Pick<Repository, 'findHostByMac' | 'loadHostConfig' | 'transaction'>;

/** The renderers of the boot chain's scripts, and the settings previews share with it. */
export type BootTemplates = Pick<TemplateService, 'renderGenericIpxe' | 'renderHostIpxe' | 'renderApply' | 'boot'>;

export interface BootBackend {
  /**
   * findHostByMac authorises a token for its MAC, loadHostConfig gives the fallback plan of an
   * invalid configuration, and transaction makes a boot start (boot, token, first event) one commit.
   */
  hosts: BootHosts;
  /** Boots, tokens and the boot timeline. */
  store: BootStore;
  templates: BootTemplates;
}
