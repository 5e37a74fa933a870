// PLACEHOLDER (being written): stateful-set-controller.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'stateful-set-controller', async start() {}, stop() {} };
}
