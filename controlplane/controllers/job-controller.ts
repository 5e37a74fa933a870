// PLACEHOLDER (being written): job-controller.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'job-controller', async start() {}, stop() {} };
}
