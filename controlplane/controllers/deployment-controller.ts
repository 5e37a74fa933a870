// PLACEHOLDER (being written): deployment-controller.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'deployment-controller', async start() {}, stop() {} };
}
