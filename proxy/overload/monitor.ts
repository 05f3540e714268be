// A resource monitor (Envoy's ResourceMonitor): how pressed one resource is, 0 (idle) to 1 (at
// its limit) or above. Read on the overload manager's refresh; a monitor that throws counts a
// failed update and leaves its actions as they were.
export interface ResourceMonitor {
  readonly name: string;
  pressure(): number;
}
