// Where the server's messages go in the agent: each start step of agent/main.ts registers
// the message types it handles before the connection starts; the connection delivers.
import type { ServerMessage } from '../../proto/agent-protocol.js';

export type MessageType = ServerMessage['type'];
export type MessageOf<T extends MessageType> = Extract<ServerMessage, { type: T }>;

/** where the server's messages go: each start step registers what it handles before the connection starts */
export class MessageRoutes {
  private readonly handlers = new Map<MessageType, (m: ServerMessage) => void>();

  on<T extends MessageType>(type: T, handle: (m: MessageOf<T>) => void): void {
    this.handlers.set(type, (m) => {
      if (m.type === type) handle(m as MessageOf<T>);
    });
  }

  deliver(m: ServerMessage): void {
    this.handlers.get(m.type)?.(m);
  }
}
