// A question explain cannot answer (bad URL, unknown listener): one line for the CLI and a 400
// from the admin.
export class ExplainError extends Error {}
