// What every controller is to the control plane: started after the store is open,
// stopped on shutdown. Each controller is one reconcile loop (DESIGN.md).
export interface Controller {
  readonly name: string;
  start(): Promise<void>;
  stop(): void;
}
