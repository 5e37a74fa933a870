// PLACEHOLDER (being written): garbage-collector.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'garbage-collector', async start() {}, stop() {} };
}
