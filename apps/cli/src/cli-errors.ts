/** Exit statuses: 0 success, 1 the command failed while running, 2 it was called wrongly. */
export const EXIT_RUNTIME_ERROR = 1;
export const EXIT_USAGE_ERROR = 2;

/** A bad argument or option: reported with the usage hint, exit status 2. */
export class UsageError extends Error {}

/** The preflight's report: printed as it is, exit status 1. */
export class ServicesUnreachableError extends Error {}
