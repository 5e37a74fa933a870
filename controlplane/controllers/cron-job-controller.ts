// PLACEHOLDER (being written): cron-job-controller.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'cron-job-controller', async start() {}, stop() {} };
}
