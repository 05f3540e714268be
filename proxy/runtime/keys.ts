// Runtime keys Legate reads that no config field names (the fault filter's and route fractions'
// keys come with their config), by Envoy's names.
export const HEALTHY_PANIC_THRESHOLD = 'upstream.healthy_panic_threshold';
export const GLOBAL_DOWNSTREAM_MAX_CONNECTIONS = 'overload.global_downstream_max_connections';
