/**
 * `created_at` as the text `Date#toISOString` gives (UTC, milliseconds, `Z`), made by Postgres:
 * frames carry it as text, and parsing it into a Date only to print it again cost the worker a
 * Date per notification (docs/benchmarks.md). Milliseconds are cut, not rounded, as the driver
 * cuts them when it does parse a Date, so a frame reads the same whichever path framed it.
 */
export const ISO_CREATED_AT = `to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
